"""``labelaudit scan --nproc-per-node 2``: ranks through torchrun's launcher, gloo on CPUs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import assert_one_error_line, cli_executable, run_cli, write_image
from labelaudit.core.project import Project
from labelaudit.core.store.scan_results import ScanResults, load_results

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="gloo on CPU is tested on Linux"),
]
torch = pytest.importorskip("torch")

# Same --threads on both sides: CPU results are reproducible per thread count.
CV = (
    "--model", "small-cnn", "--folds", "3", "--epochs", "2", "--image-size", "16",
    "--device", "cpu", "--no-tta", "--threads", "1", "--workers", "1",
)  # fmt: skip
RANKS = ("--nproc-per-node", "2")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An imported, never scanned project (copied per test)."""
    base = tmp_path_factory.mktemp("ranks")
    for k, name in enumerate(("ant", "bee", "cow", "dog")):
        for i in range(24):
            write_image(base / "images" / name / f"{i:03d}.png", seed=100 * k + i, size=(16, 16))
    run_cli("init", base / "proj", "--images", base / "images", check=True)
    return base / "proj"


@pytest.fixture(scope="module")
def one_process(fresh: Path, tmp_path_factory: pytest.TempPathFactory) -> ScanResults:
    proj = shutil.copytree(fresh, tmp_path_factory.mktemp("one") / "proj")
    run_cli("scan", proj, *CV, check=True)
    return _results(proj)


def _copy(fresh: Path, tmp_path: Path) -> Path:
    return shutil.copytree(fresh, tmp_path / "proj")


def _results(proj: Path, scan_id: int = 1) -> ScanResults:
    with Project.open(proj) as project:
        results = load_results(project.store, scan_id)
    assert results is not None
    return results


def _scan_row(proj: Path) -> tuple[str, int, list[str]]:
    with sqlite3.connect(proj / "labelaudit.db") as conn:
        status, folds = conn.execute("SELECT status, folds_done FROM scans WHERE id = 1").fetchone()
        names = [r[0] for r in conn.execute("SELECT name FROM arrays")]
    return status, folds, names


def test_two_ranks_give_the_one_process_result(
    fresh: Path, one_process: ScanResults, tmp_path: Path
) -> None:
    proj = _copy(fresh, tmp_path)
    proc = run_cli("scan", proj, *CV, *RANKS, "--progress-json", check=True)
    done = json.loads(proc.stdout.splitlines()[-1])
    assert done["event"] == "done" and done["scan_id"] == 1, proc.stdout[-2000:]
    assert proc.stderr == "", proc.stderr  # the launcher's notices are not shown
    two = _results(proj)
    # Same seed, folds and thread count: the same numbers, not just close ones.
    assert np.array_equal(two.fold, one_process.fold)
    difference = float(np.abs(two.pred_probs - one_process.pred_probs).max())
    assert difference == 0.0, difference
    assert np.array_equal(two.arrays["is_label_issue"], one_process.arrays["is_label_issue"])
    assert np.array_equal(two.embeddings, one_process.embeddings)
    model = two.summary["model"]
    assert model["ranks"] == 2
    # Work dealt round-robin: rank 0 trained folds 1 and 3, rank 1 fold 2 and the embeddings.
    assert [f.get("rank") for f in model["folds"]] == [None, 1, None]
    assert all("train_s" in model["folds"][k] for k in (0, 2))
    status, _, names = _scan_row(proj)
    assert status == "done" and "embedding_checkpoint" not in names
    assert not [n for n in names if n.startswith("fold") and n.endswith("_probs")]


def test_two_ranks_on_the_postgresql_team_store(
    fresh: Path, one_process: ScanResults, tmp_path: Path, pg_url: str
) -> None:
    """The store a scan across machines needs: every rank writes its folds to PostgreSQL."""
    proj = tmp_path / "proj"
    run_cli("init", proj, "--images", fresh.parent / "images", "--db", pg_url, check=True)
    proc = run_cli("scan", proj, *CV, *RANKS, "--progress-json", check=True)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    waits = [e for e in events if e.get("step") == "waiting for the other ranks"]
    assert waits and waits[0]["event"] == "start" and waits[-1]["event"] == "end", waits
    assert events[-1]["event"] == "done"
    two = _results(proj)
    assert np.array_equal(two.pred_probs, one_process.pred_probs)
    assert np.array_equal(two.arrays["is_label_issue"], one_process.arrays["is_label_issue"])


def _ranks_of(launcher: subprocess.Popen[bytes], *, timeout: float = 120) -> dict[int, int]:
    """{rank: pid} of the launcher's scan processes, once both exist."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = {}
        for child in psutil.Process(launcher.pid).children(recursive=True):
            try:
                rank = child.environ().get("RANK")
            except psutil.Error:
                continue
            if rank is not None:
                found[int(rank)] = child.pid
        if len(found) == 2:
            return found
        assert launcher.poll() is None, "the scan ended too early"
        time.sleep(0.05)
    pytest.fail("the two ranks did not start")


def _wait_for_a_fold(proj: Path, launcher: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert launcher.poll() is None, "the scan ended before a rank could be killed"
        try:
            if _scan_row(proj)[1] >= 1:
                return
        except (sqlite3.OperationalError, TypeError):  # no scan row yet
            pass
        time.sleep(0.02)
    pytest.fail("no fold was stored in time")


def _start(proj: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "LABELAUDIT_DB"}
    with open(log, "wb") as out, open(log.with_suffix(".err"), "wb") as err:
        return subprocess.Popen(
            [cli_executable(), "scan", proj, *CV, *RANKS, *extra],
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,  # its own process group, as a terminal's job
        )


def _error_lines(stderr: Path) -> list[str]:
    """What the scan said about its end (the lines before are its progress notes)."""
    text = stderr.read_text()
    assert "Traceback" not in text, text
    return [line for line in text.splitlines() if line.startswith("labelaudit:")]


def test_kill_9_of_one_rank_publishes_nothing_and_the_next_run_resumes(
    fresh: Path, one_process: ScanResults, tmp_path: Path
) -> None:
    proj = _copy(fresh, tmp_path)
    launcher = _start(proj, tmp_path / "a.log")
    ranks = _ranks_of(launcher)
    _wait_for_a_fold(proj, launcher)
    os.kill(ranks[1], signal.SIGKILL)
    assert launcher.wait(timeout=120) == 128 + signal.SIGKILL
    err = _error_lines(tmp_path / "a.err")
    assert len(err) == 1 and "rank 1" in err[0] and "SIGKILL" in err[0], err
    assert "resume" in err[0]
    status, folds_done, names = _scan_row(proj)
    assert status != "done" and folds_done >= 1
    assert "pred_probs" not in names  # no half scan published
    with Project.open(proj) as project:
        assert load_results(project.store, 1) is None
    again = run_cli("scan", proj, *CV, *RANKS, check=True)
    assert "resuming scan #1" in again.stdout + again.stderr
    resumed = _results(proj)
    assert np.array_equal(resumed.pred_probs, one_process.pred_probs)
    assert np.array_equal(resumed.arrays["is_label_issue"], one_process.arrays["is_label_issue"])


def test_with_max_restarts_the_killed_ranks_work_is_retried_in_the_same_run(
    fresh: Path, one_process: ScanResults, tmp_path: Path
) -> None:
    proj = _copy(fresh, tmp_path)
    launcher = _start(proj, tmp_path / "a.log", "--max-restarts", "1", "--progress-json")
    ranks = _ranks_of(launcher)
    _wait_for_a_fold(proj, launcher)
    os.kill(ranks[1], signal.SIGKILL)
    assert launcher.wait(timeout=300) == 0, (tmp_path / "a.err").read_text()[-3000:]
    done = json.loads((tmp_path / "a.log").read_text().splitlines()[-1])
    assert done["event"] == "done" and done["resumed_folds"] >= 1, done
    assert np.array_equal(_results(proj).pred_probs, one_process.pred_probs)


def test_ctrl_c_stops_every_rank_and_keeps_the_scan_resumable(fresh: Path, tmp_path: Path) -> None:
    import psutil

    proj = _copy(fresh, tmp_path)
    launcher = _start(proj, tmp_path / "a.log")
    ranks = _ranks_of(launcher)
    _wait_for_a_fold(proj, launcher)
    os.killpg(launcher.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    assert launcher.wait(timeout=120) == 130
    err = _error_lines(tmp_path / "a.err")
    assert len(err) == 1 and "interrupted" in err[0] and "resume" in err[0], err
    deadline = time.monotonic() + 30
    while any(psutil.pid_exists(p) for p in ranks.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(psutil.pid_exists(p) for p in ranks.values()), "a rank outlived Ctrl-C"
    status, folds_done, _ = _scan_row(proj)
    assert status == "cancelled" and folds_done >= 1


def test_linear_probe_features_are_sharded_across_ranks(fresh: Path, tmp_path: Path) -> None:
    weights = tmp_path / "r18.pth"
    torch.manual_seed(0)
    import torchvision

    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    probe = ("--weights", weights, "--linear-probe", "--image-size", "32", "--folds", "3")
    probe += ("--device", "cpu", "--threads", "1", "--workers", "1")
    one = shutil.copytree(fresh, tmp_path / "one")
    run_cli("scan", one, *probe, check=True)
    two = _copy(fresh, tmp_path)
    proc = run_cli("scan", two, *probe, *RANKS, check=True)
    assert "2 ranks share 2 work items (shards of the frozen features)" in proc.stderr
    a, b = _results(one), _results(two)
    assert np.allclose(a.embeddings, b.embeddings, atol=1e-4)
    assert float(np.abs(a.pred_probs - b.pred_probs).max()) < 1e-3
    assert np.array_equal(a.arrays["is_label_issue"], b.arrays["is_label_issue"])
    assert not [n for n in _scan_row(two)[2] if n.startswith("part:")]


def test_bad_launches_are_one_line_and_start_no_rank(fresh: Path, tmp_path: Path) -> None:
    proj = _copy(fresh, tmp_path)
    np.save(tmp_path / "p.npy", np.full((96, 4), 0.25, dtype=np.float32))
    cases = [
        (("--nproc-per-node", "0"), "--nproc-per-node must be between 1 and 1024"),
        (("--nproc-per-node", "2", "--max-restarts", "-1"), "--max-restarts must be >= 0"),
        (("--nproc-per-node", "2", "--folds", "1"), "--folds must be at least 2"),
        (("--nproc-per-node", "2", "--pred-probs", tmp_path / "p.npy"), "drop one of them"),
    ]
    for extra, message in cases:
        assert_one_error_line(run_cli("scan", proj, *extra), contains=message)
    assert_one_error_line(run_cli("scan", tmp_path / "nowhere", *RANKS), contains="no project")
    assert _scan_count(proj) == 0


def _scan_count(proj: Path) -> int:
    with sqlite3.connect(proj / "labelaudit.db") as conn:
        return int(conn.execute("SELECT count(*) FROM scans").fetchone()[0])

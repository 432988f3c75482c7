"""``labelaudit scan``, ``issues`` and ``summary`` through the installed command."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import assert_one_error_line, cli_executable, make_tree, run_cli, write_image
from labelaudit.core.project import Project
from labelaudit.core.store.scan_results import load_results

ISSUE_COLUMNS = "path,given_label,suggested_label,suggested_prob,label_quality,is_label_issue,"


def build_planted(tmp_path: Path, db: str | None = None) -> tuple[Path, dict[str, str]]:
    """A project whose classes ant/bee overlap (planted swaps), cow is big, eel tiny, with exact
    copies (one labelled two ways). Returns (project, truth per path)."""
    root = make_tree(tmp_path / "images", {"ant": 40, "bee": 40, "cow": 40, "eel": 3})
    shutil.copy(root / "ant" / "0000.png", root / "bee" / "copy-of-ant.png")
    shutil.copy(root / "cow" / "0001.png", root / "cow" / "again.png")
    proj = tmp_path / "proj"
    run_cli("init", proj, "--images", root, *(["--db", db] if db else []), check=True)
    truth: dict[str, str] = {}
    for line in list(csv.DictReader(io.StringIO(row_order(proj)))):
        truth[line["path"]] = line["given_label"]
    for i in range(8):
        truth[f"ant/{i + 10:04d}.png"] = "bee"
        truth[f"bee/{i + 10:04d}.png"] = "ant"
    truth["bee/copy-of-ant.png"] = "ant"
    return proj, truth


def row_order(proj: Path) -> str:
    return run_cli("issues", proj, "--all", "--order", "path", check=True).stdout


def write_pred_probs(proj: Path, truth: dict[str, str], out: Path, *, seed: int = 0) -> np.ndarray:
    """A confident "model" that knows the truth, rows in the documented order."""
    paths = [r["path"] for r in csv.DictReader(io.StringIO(row_order(proj)))]
    classes = sorted(set(truth.values()) | {"eel"})
    rng = np.random.default_rng(seed)
    probs = 0.1 * rng.dirichlet(np.ones(len(classes)), len(paths))
    for row, path in enumerate(paths):
        probs[row, classes.index(truth[path])] += 0.9
    np.save(out, probs.astype(np.float32))
    return probs


def scans_and_arrays(proj: Path) -> tuple[int, int]:
    with sqlite3.connect(proj / "labelaudit.db") as conn:
        n_scans = conn.execute("SELECT count(*) FROM scans").fetchone()[0]
        n_arrays = conn.execute("SELECT count(*) FROM arrays").fetchone()[0]
    return n_scans, n_arrays


def test_byo_scan_issues_and_summary_end_to_end(tmp_path: Path, backend: str | None) -> None:
    proj, truth = build_planted(tmp_path, backend)
    write_pred_probs(proj, truth, tmp_path / "p.npy")
    out = run_cli("scan", proj, "--pred-probs", tmp_path / "p.npy", check=True)
    assert "scan #1 done" in out.stdout and "flagged" in out.stdout
    listed = run_cli("issues", proj, check=True).stdout
    assert listed.startswith(ISSUE_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(listed)))
    planted = {p for p, label in truth.items() if p.split("/")[0] != label}
    flagged = [r for r in rows if r["flagged"] == "true"]
    assert rows[: len(flagged)] == flagged  # flagged first ...
    quality = [float(r["label_quality"]) for r in flagged]
    assert quality == sorted(quality)  # ... worst first
    found = {r["path"] for r in flagged}
    assert len(found & planted) >= 0.8 * len(planted) and len(found - planted) <= 2
    swap = next(r for r in rows if r["path"] == "ant/0010.png")
    assert swap["given_label"] == "ant" and swap["suggested_label"] == "bee"
    assert swap["issue_types"] == "label" and float(swap["suggested_prob"]) > 0.85
    everything = json.loads(run_cli("issues", proj, "--all", "--format", "json", check=True).stdout)
    assert len(everything["rows"]) == len(truth) and everything["stale"] == []
    floats = [v for r in everything["rows"] for v in r.values() if isinstance(v, float)]
    assert floats and all(v == float(f"{v:.6g}") for v in floats)  # rounded like the CSV
    copies = [r for r in everything["rows"] if r["path"] in ("cow/0001.png", "cow/again.png")]
    assert copies[0]["near_dup_group"] == copies[1]["near_dup_group"] >= 0
    assert "near_duplicate" in copies[0]["issue_types"]
    summary = " ".join(run_cli("summary", proj, check=True).stdout.split())  # unwrapped
    for expected in (
        "ant and bee",
        "look wrong",
        "eel (3)",
        "a ratio of 13.",
        "exact copies",
        "groups with different labels for the same picture: 1",
        "What to do",
        "Main problems, most serious first: ",
        "CONFIDENT JOINT",
        "LABEL NOISE PER CLASS",
    ):
        assert expected in summary, (expected, summary)
    data = json.loads(run_cli("summary", proj, "--json", check=True).stdout)
    assert data["summary"]["imbalance"]["smallest"] == {"class": "eel", "images": 3}
    matrix = data["confident_joint"]
    assert matrix["classes"] == ["ant", "bee", "cow", "eel"] and matrix["rows"] == "given label"
    counts = np.array(matrix["counts"])
    assert counts.shape == (4, 4) and counts[0, 1] >= 5 and counts[1, 0] >= 5  # planted swaps
    assert counts.sum() == len(truth) and counts[2, 2] >= 39
    noise = {c["class"]: c for c in data["class_noise"]}
    assert noise["ant"]["label_noise"] > 0.1 and noise["cow"]["label_noise"] < 0.05
    assert noise["bee"]["inverse_label_noise"] is not None
    info = run_cli("info", proj, check=True).stdout
    assert "#1 done pred_probs" in info


def test_issues_output_file_is_written_atomically(tmp_path: Path) -> None:
    proj, truth = build_planted(tmp_path)
    write_pred_probs(proj, truth, tmp_path / "p.npy")
    run_cli("scan", proj, "--pred-probs", tmp_path / "p.npy", check=True)
    target = tmp_path / "out" / "issues.csv"
    missing_dir = run_cli("issues", proj, "-o", target)
    assert_one_error_line(missing_dir, contains=f"cannot write {target}: the folder")
    assert ".tmp" not in missing_dir.stderr
    target.parent.mkdir()
    run_cli("issues", proj, "--all", "-o", target, check=True)
    assert len(target.read_text().splitlines()) == len(truth) + 1
    assert [p.name for p in target.parent.iterdir()] == ["issues.csv"]
    run_cli("issues", proj, "--format", "json", "-o", target, check=True)
    assert json.loads(target.read_text())["scan_id"] == 1


def test_stale_scan_is_reported(tmp_path: Path) -> None:
    proj, truth = build_planted(tmp_path)
    write_pred_probs(proj, truth, tmp_path / "p.npy")
    run_cli("scan", proj, "--pred-probs", tmp_path / "p.npy", check=True)
    write_image(tmp_path / "images" / "cow" / "late.png", seed=77777)
    run_cli("import", proj, check=True)
    assert "STALE" in run_cli("summary", proj, check=True).stdout
    issues = run_cli("issues", proj, check=True)
    assert "stale (1 images added since the scan)" in issues.stderr
    info = json.loads(run_cli("info", proj, "--json", check=True).stdout)
    assert info["scans"][0]["stale"] == ["1 images added since the scan"]


@pytest.fixture(scope="module")
def bad_input_project(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, int, list[str]]:
    tmp = tmp_path_factory.mktemp("bad")
    proj, _ = build_planted(tmp)
    paths = [r["path"] for r in csv.DictReader(io.StringIO(row_order(proj)))]
    return proj, tmp, len(paths), paths


def _csv(paths: list[str], classes: list[str], rows: np.ndarray) -> str:
    lines = ["path," + ",".join(classes)]
    lines += [p + "," + ",".join(map(str, r)) for p, r in zip(paths, rows, strict=True)]
    return "\n".join(lines) + "\n"


BAD_INPUTS = {
    "wrong_n": ("npy", lambda n, p: np.full((n - 1, 4), 0.25), "shape"),
    "wrong_k": ("npy", lambda n, p: np.full((n, 5), 0.2), "4 classes"),
    "nan": (
        "npy",
        lambda n, p: np.where(np.arange(n)[:, None] == 3, np.nan, np.full((n, 4), 0.25)),
        "NaN",
    ),
    "negative": ("npy", lambda n, p: np.tile([1.1, -0.1, 0.0, 0.0], (n, 1)), "negative"),
    "logits": ("npy", lambda n, p: np.tile([3.0, -1.0, 0.5, 0.2], (n, 1)), "apply softmax"),
    "not_summing": ("npy", lambda n, p: np.full((n, 4), 0.2525), "sum to 1 within"),
    "one_dim": ("npy", lambda n, p: np.full(n, 0.25), "2-D"),
    "text_npy": ("raw", lambda n, p: "not numpy", "not a readable .npy"),
    "unknown_path": (
        "csv",
        lambda n, p: _csv(
            [*p[:-1], "ant/nope.png"], ["ant", "bee", "cow", "eel"], np.full((n, 4), 0.25)
        ),
        "not valid images",
    ),
    "duplicate_path": (
        "csv",
        lambda n, p: _csv([*p[:-1], p[0]], ["ant", "bee", "cow", "eel"], np.full((n, 4), 0.25)),
        "appear twice",
    ),
    "missing_row": (
        "csv",
        lambda n, p: _csv(p[:-1], ["ant", "bee", "cow", "eel"], np.full((n - 1, 4), 0.25)),
        "have no row",
    ),
    "missing_class": (
        "csv",
        lambda n, p: _csv(p, ["ant", "bee", "cow"], np.full((n, 3), 1 / 3)),
        "class columns",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_pred_probs_are_one_error_line_and_store_nothing(
    bad_input_project: tuple[Path, Path, int, list[str]], case: str
) -> None:
    proj, tmp, n, paths = bad_input_project
    kind, make, message = BAD_INPUTS[case]
    target = tmp / f"{case}.{'csv' if kind == 'csv' else 'npy'}"
    content = make(n, paths)
    if kind == "npy":
        np.save(target, content)
    else:
        target.write_text(content)
    before = scans_and_arrays(proj)
    proc = run_cli("scan", proj, "--pred-probs", target)
    assert_one_error_line(proc, contains=message)
    assert scans_and_arrays(proj) == before


def test_bad_embeddings_options_and_missing_files(
    bad_input_project: tuple[Path, Path, int, list[str]],
) -> None:
    proj, tmp, n, _ = bad_input_project
    good = tmp / "good.npy"
    np.save(good, np.full((n, 4), 0.25))
    np.save(tmp / "emb_short.npy", np.zeros((n - 2, 8)))
    np.save(tmp / "emb_nan.npy", np.full((n, 8), np.nan))
    before = scans_and_arrays(proj)
    cases = [
        (["--embeddings", tmp / "emb_short.npy"], "embeddings have"),
        (["--embeddings", tmp / "emb_nan.npy"], "NaN"),
        (["--embeddings", tmp / "none.npy"], "not found"),
        (["--filter-by", "magic"], "--filter-by"),
        (["--quality-method", "magic"], "--quality-method"),
        (["--min-class-size", "0"], "--min-class-size"),
    ]
    for extra, message in cases:
        proc = run_cli("scan", proj, "--pred-probs", good, *extra)
        assert_one_error_line(proc, contains=message)
    assert_one_error_line(
        run_cli("scan", proj, "--pred-probs", tmp / "nope.npy"), contains="not found"
    )
    assert scans_and_arrays(proj) == before


def test_projects_that_cannot_be_scanned(tmp_path: Path) -> None:
    one = make_tree(tmp_path / "one", {"only": 4})
    run_cli("init", tmp_path / "p1", "--images", one, check=True)
    np.save(tmp_path / "p.npy", np.ones((4, 1)))
    proc = run_cli("scan", tmp_path / "p1", "--pred-probs", tmp_path / "p.npy")
    assert_one_error_line(proc, contains="at least 2 classes")
    broken = tmp_path / "broken"
    (broken / "a").mkdir(parents=True)
    (broken / "a" / "x.png").write_bytes(b"")
    (broken / "b").mkdir()
    (broken / "b" / "y.png").write_text("not an image")
    run_cli("init", tmp_path / "p2", "--images", broken, check=True)
    proc = run_cli("scan", tmp_path / "p2", "--pred-probs", tmp_path / "p.npy")
    assert_one_error_line(proc, contains="no valid images")
    assert_one_error_line(run_cli("issues", tmp_path / "p2"), contains="no finished scan")
    assert_one_error_line(run_cli("summary", tmp_path / "p2"), contains="no finished scan")
    assert scans_and_arrays(tmp_path / "p1") == scans_and_arrays(tmp_path / "p2") == (0, 0)


def test_second_scan_while_one_runs_is_refused(tmp_path: Path) -> None:
    proj, truth = build_planted(tmp_path)
    write_pred_probs(proj, truth, tmp_path / "p.npy")
    with sqlite3.connect(proj / "labelaudit.db") as conn:  # a live scan: this process, fresh
        conn.execute(
            "INSERT INTO scans (created_at, heartbeat_at, status, kind, config, versions, "
            "timings, summary, class_names, n_images, folds_done, host, pid) VALUES "
            "(?, ?, 'running', 'cv', '{}', '{}', '{}', '{}', '[]', 1, 0, ?, ?)",
            (time.time(), time.time(), socket.gethostname(), os.getpid()),
        )
    proc = run_cli("scan", proj, "--pred-probs", tmp_path / "p.npy")
    assert_one_error_line(proc, contains="scan #1 is already running")
    assert scans_and_arrays(proj)[0] == 1
    with sqlite3.connect(proj / "labelaudit.db") as conn:  # its heartbeat stops: it died
        conn.execute("UPDATE scans SET heartbeat_at = ?", (time.time() - 3600,))
    run_cli("scan", proj, "--pred-probs", tmp_path / "p.npy", check=True)
    with sqlite3.connect(proj / "labelaudit.db") as conn:
        statuses = [r[0] for r in conn.execute("SELECT status FROM scans ORDER BY id")]
    assert statuses == ["failed", "done"]


def test_progress_json_lines_parse_and_end_with_done_or_error(tmp_path: Path) -> None:
    proj, truth = build_planted(tmp_path)
    write_pred_probs(proj, truth, tmp_path / "p.npy")
    ok = run_cli("scan", proj, "--pred-probs", tmp_path / "p.npy", "--progress-json", check=True)
    events = [json.loads(line) for line in ok.stdout.splitlines()]
    assert {"start", "update", "end"} <= {e["event"] for e in events}
    assert events[-1]["event"] == "done" and events[-1]["scan_id"] == 1
    assert events[-1]["n_images"] == len(truth)
    np.save(tmp_path / "bad.npy", np.full((3, 4), 0.25))
    bad = run_cli("scan", proj, "--pred-probs", tmp_path / "bad.npy", "--progress-json")
    assert_one_error_line(bad, contains="shape")
    last = json.loads(bad.stdout.splitlines()[-1])
    assert last["event"] == "error" and last["exit_code"] == 2 and "shape" in last["message"]


# -- cross-validated scans through the engine -------------------------------------------------

TINY_CV = (
    "--model", "small-cnn", "--folds", "3", "--epochs", "1", "--image-size", "16",
    "--device", "cpu", "--no-embed", "--no-tta", "--progress-json",
)  # fmt: skip


def tiny_tree16(root: Path, *, per_class: int = 20) -> Path:
    for k, name in enumerate(("ant", "bee", "cow", "dog")):
        for i in range(per_class):
            write_image(root / name / f"{i:03d}.png", seed=1000 * k + i, size=(16, 16))
    return root


def start_scan(proj: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "LABELAUDIT_DB"}
    with open(log, "wb") as out, open(log.with_suffix(".err"), "wb") as err:
        return subprocess.Popen(
            [cli_executable(), "scan", proj, *TINY_CV], stdout=out, stderr=err, env=env
        )


def wait_for_folds(proj: Path, scan_id: int, folds: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the scan ended before it could be interrupted"
        with sqlite3.connect(proj / "labelaudit.db") as conn:
            row = conn.execute("SELECT folds_done FROM scans WHERE id = ?", (scan_id,)).fetchone()
        if row is not None and row[0] >= folds:
            return
        time.sleep(0.02)
    pytest.fail(f"scan #{scan_id} did not finish {folds} folds in time")


def scan_status(proj: Path, scan_id: int) -> tuple[str, int]:
    with sqlite3.connect(proj / "labelaudit.db") as conn:
        return conn.execute(
            "SELECT status, folds_done FROM scans WHERE id = ?", (scan_id,)
        ).fetchone()


@pytest.mark.slow
def test_progress_json_carries_the_fold_and_epoch_as_fields(tmp_path: Path) -> None:
    """The app reads the fold from ``fold``/``n_folds``, never from the step's display name."""
    pytest.importorskip("torch")
    proj = tmp_path / "proj"
    run_cli("init", proj, "--images", tiny_tree16(tmp_path / "images", per_class=6), check=True)
    lines = run_cli("scan", proj, *TINY_CV, check=True).stdout.splitlines()
    events = [json.loads(line) for line in lines]
    starts = [(e["step"], e.get("fold"), e.get("n_folds")) for e in events if e["event"] == "start"]
    folds = [s for s in starts if s[1] is not None]
    assert folds == [(f"fold {k}/3", k, 3) for k in (1, 2, 3)]
    assert ("decode", None, None) in starts
    updates = [e for e in events if e["event"] == "update" and "fold" in e]
    assert {e["fold"] for e in updates} == {1, 2, 3}
    assert all(e["n_folds"] == 3 and e["epoch"] == 1 and e["epochs"] == 1 for e in updates)
    assert all(e["step"] == f"fold {e['fold']}/3" for e in updates)


@pytest.mark.slow
def test_interrupted_and_killed_scan_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    proj = tmp_path / "proj"
    run_cli("init", proj, "--images", tiny_tree16(tmp_path / "images"), check=True)
    reference = run_cli("scan", proj, *TINY_CV, check=True)
    assert json.loads(reference.stdout.splitlines()[-1])["scan_id"] == 1
    # Ctrl-C (the app's Cancel) after fold 1: one line, exit 130, scan cancelled and resumable.
    first = start_scan(proj, tmp_path / "a.log")
    wait_for_folds(proj, 2, 1, first)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=120) == 130
    err = (tmp_path / "a.err").read_text().strip().splitlines()
    assert len(err) == 1 and "resume" in err[0], err
    assert json.loads((tmp_path / "a.log").read_text().splitlines()[-1])["event"] == "error"
    assert scan_status(proj, 2)[0] == "cancelled"
    # The resumed scan is killed outright after fold 2 is stored; while it is alive (here:
    # stopped), a second scan is refused.
    second = start_scan(proj, tmp_path / "b.log")
    wait_for_folds(proj, 2, 2, second)
    second.send_signal(signal.SIGSTOP)
    try:
        assert_one_error_line(run_cli("scan", proj, *TINY_CV), contains="already running")
    finally:
        second.kill()
        second.wait(timeout=60)
    status, folds_done = scan_status(proj, 2)
    assert status == "running" and folds_done >= 2
    third = run_cli("scan", proj, *TINY_CV, check=True)
    assert any("resuming scan #2" in line for line in third.stdout.splitlines())
    assert json.loads(third.stdout.splitlines()[-1])["resumed_folds"] == folds_done
    with Project.open(proj) as project:
        whole = load_results(project.store, 1)
        resumed = load_results(project.store, 2)
    assert whole is not None and resumed is not None
    assert np.array_equal(whole.pred_probs, resumed.pred_probs)
    assert np.array_equal(whole.fold, resumed.fold)
    assert np.allclose(resumed.pred_probs.sum(1), 1, atol=1e-5)


def test_demo_scan_stage_without_torch_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from labelaudit.cli import demo_stages

    root = make_tree(tmp_path / "images", {"a": 3, "b": 3})
    real_find_spec = demo_stages.importlib.util.find_spec
    monkeypatch.setattr(
        demo_stages.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "torch" else real_find_spec(name, *a),
    )
    with Project.create(tmp_path / "p", root) as project:
        project.import_images(workers=1)
        demo_stages.scan_stage(project)
    assert capsys.readouterr().out == (
        "torch not installed: skipping the CNN scan (pip install 'labelaudit[scan]')\n"
    )


def test_bad_cv_options_fail_before_training_and_store_nothing(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    run_cli("init", proj, "--images", tiny_tree16(tmp_path / "images", per_class=6), check=True)
    quick = ("--model", "small-cnn", "--epochs", "1", "--image-size", "16", "--device", "cpu")
    cases = [
        (["--filter-by", "magic"], "unknown --filter-by 'magic'"),
        (["--quality-method", "magic"], "unknown --quality-method 'magic'"),
        (["--folds", "8"], "--folds 8 is more than any class has images (every class has 6)"),
        (["--folds", "0"], "--folds must be at least 2, got 0"),
        (["--batch-audit-mb", "-1"], "--batch-audit-mb must be >= 0, got -1"),
    ]
    for extra, message in cases:
        assert_one_error_line(run_cli("scan", proj, *quick, *extra), contains=message)
    np.save(tmp_path / "p.npy", np.full((24, 4), 0.25, dtype=np.float32))
    own = run_cli("scan", proj, "--pred-probs", tmp_path / "p.npy", "--folds", "3", "--no-tta")
    assert_one_error_line(own, contains="--folds, --no-tta only apply to cross-validated scans")
    own = run_cli("scan", proj, "--pred-probs", tmp_path / "p.npy", "--no-flip")
    assert_one_error_line(own, contains="--no-flip only applies to cross-validated scans")
    assert scans_and_arrays(proj) == (0, 0)


@pytest.mark.slow
def test_no_calibrate_stores_raw_softmax_and_says_so_in_the_config(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    proj = tmp_path / "proj"
    run_cli("init", proj, "--images", tiny_tree16(tmp_path / "images", per_class=12), check=True)
    run_cli("scan", proj, *TINY_CV, "--no-calibrate", check=True)
    with Project.open(proj) as project:
        results = load_results(project.store)
    assert results is not None
    assert results.config["calibrate"] is False and results.config["calibration"] is None
    assert "calibration" not in results.summary["model"]
    assert np.allclose(results.pred_probs.sum(1), 1, atol=1e-5)


@pytest.mark.slow
def test_mirroring_is_decided_from_the_images_printed_and_stored(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    grey = tmp_path / "grey"
    for k, name in enumerate(("one", "two", "three")):
        for i in range(6):
            write_image(grey / name / f"{i}.png", seed=100 * k + i, size=(16, 16), mode="L")
    proj = tmp_path / "proj"
    run_cli("init", proj, "--images", grey, check=True)
    quiet = [a for a in TINY_CV if a != "--progress-json"]
    out = run_cli("scan", proj, *quiet, check=True).stdout
    assert "mirroring off: 0% of 18 sampled images are in colour;" in out
    run_cli("scan", proj, *quiet, "--flip", check=True)
    with Project.open(proj) as project:
        decided, forced = load_results(project.store, 1), load_results(project.store, 2)
    assert decided is not None and forced is not None
    assert decided.config["flip"] is False and "grey images" in decided.config["flip_why"]
    assert forced.config["flip"] is True and forced.config["flip_why"] == "mirroring on (--flip)"
    # colour images (random RGB noise) are mirrored (--no-flip: tests/core/test_scan_mirror.py)
    colour = tmp_path / "colour"
    run_cli("init", colour, "--images", tiny_tree16(tmp_path / "c", per_class=6), check=True)
    assert "mirroring on: 100% of 24" in run_cli("scan", colour, *quiet, check=True).stdout


def test_summary_lists_the_largest_confusions_when_there_are_many_classes() -> None:
    from labelaudit.cli.cmd_summary import TOP_CONFUSIONS, noise_lines

    k = 14
    names = [f"class{i:02d}" for i in range(k)]
    counts = np.diag(np.full(k, 50))
    counts[3, 4], counts[5, 1], counts[0, 13] = 9, 7, 1
    report = {
        "confident_joint": {"classes": names, "counts": counts.tolist()},
        "class_noise": [
            {"class": n, "label_noise": round(float(counts[i].sum() - counts[i, i]) / 60, 4)}
            for i, n in enumerate(names)
        ],
    }
    lines = noise_lines(report)
    assert "  class03 -> class04: 9" in lines and "  class05 -> class01: 7" in lines
    assert lines.index("  class03 -> class04: 9") < lines.index("  class05 -> class01: 7")
    assert len([line for line in lines if ": images" not in line and "->" in line]) == 3
    assert "the 3 largest off-diagonal cells" in " ".join(lines) and TOP_CONFUSIONS >= 3
    assert lines[-1] == "  class03 15.0%, class05 11.7%, class00 1.7%"


def test_demo_scan_threads_follow_the_machine_load() -> None:
    from labelaudit.cli.cmd_scan import threads_for_load

    assert threads_for_load(2, 0.1) is None  # quiet: torch's default
    assert threads_for_load(2, 1.3) == 1
    assert threads_for_load(8, 3.0) == 5
    assert threads_for_load(2, 9.0) == 1
    assert threads_for_load(4, None) is None  # no load average on this platform


def test_busy_hint_only_when_threads_were_left_to_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import argparse

    from labelaudit.cli import cmd_scan

    monkeypatch.setattr(cmd_scan.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(cmd_scan, "load_average", lambda: 1.6)
    args = argparse.Namespace(threads=None, pred_probs=None, device=None)
    assert "--threads 1 may train several times faster" in (cmd_scan.busy_hint(args) or "")
    assert cmd_scan.busy_hint(argparse.Namespace(threads=2, pred_probs=None, device=None)) is None
    monkeypatch.setattr(cmd_scan, "load_average", lambda: 0.2)
    assert cmd_scan.busy_hint(args) is None

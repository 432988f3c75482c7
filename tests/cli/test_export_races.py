"""Export races with real processes: a folder appearing mid-export, two exports to one folder,
kill -9 and Ctrl-C at each step of the final swap. The export is stopped at a named point by the
test-only hook in src/labelaudit/core/export/testpause.py, so every race is exact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from export_helpers import make_project
from helpers import assert_one_error_line, cli_executable, run_cli, tree_fingerprint
from labelaudit.core.export.testpause import PAUSE_ENV
from labelaudit.core.project import Project
from labelaudit.core.store.schema import exports

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL and SIGINT")

COUNTS = {"cat": 4, "dog": 3}


def _project(base: Path, db_url: str | None = None) -> Path:
    with make_project(base, COUNTS, db_url=db_url) as project:
        return project.folder


def _start(project: Path, out: Path, point: str, sync: Path, *extra: str) -> subprocess.Popen[str]:
    sync.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "LABELAUDIT_DB"}
    env[PAUSE_ENV] = f"{point}:{sync}"
    return subprocess.Popen(
        [cli_executable(), "export", str(project), "--out", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_reached(proc: subprocess.Popen[str], sync: Path, point: str) -> None:
    deadline = time.monotonic() + 60
    while not (sync / f"{point}.reached").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the export never reached the pause point"
        time.sleep(0.02)


def _finish(
    proc: subprocess.Popen[str], sync: Path, point: str
) -> subprocess.CompletedProcess[str]:
    (sync / f"{point}.go").touch()
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def _export_count(project: Path) -> int:
    with Project.open(project) as proj, proj.store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(exports)).scalar_one())


@pytest.mark.parametrize("what", ["a file", "an empty folder"])
def test_a_folder_appearing_during_an_export_is_left_untouched(tmp_path: Path, what: str) -> None:
    project = _project(tmp_path / "a")
    out, sync = tmp_path / "dst", tmp_path / "sync"
    proc = _start(project, out, "before-publish", sync)
    _wait_reached(proc, sync, "before-publish")
    out.mkdir()
    if what == "a file":
        (out / "thesis.txt").write_text("precious\n")
    done = _finish(proc, sync, "before-publish")
    assert_one_error_line(done, contains="appeared while exporting")
    assert [p.name for p in out.iterdir()] == (["thesis.txt"] if what == "a file" else [])
    if what == "a file":
        assert (out / "thesis.txt").read_text() == "precious\n"
    assert _hidden(out) == []  # its own temporary folder is gone
    assert _export_count(project) == 0


@pytest.mark.parametrize("force", [False, True])
def test_two_exports_from_two_projects_to_one_folder(tmp_path: Path, force: bool) -> None:
    first, second = _project(tmp_path / "a"), _project(tmp_path / "b")
    out = tmp_path / "dst"
    extra = ["--force"] if force else []
    one = _start(first, out, "before-publish", tmp_path / "s1", *extra)
    two = _start(second, out, "before-publish", tmp_path / "s2", *extra)
    _wait_reached(one, tmp_path / "s1", "before-publish")
    _wait_reached(two, tmp_path / "s2", "before-publish")
    assert _finish(one, tmp_path / "s1", "before-publish").returncode == 0
    kept = tree_fingerprint(out)
    assert_one_error_line(
        _finish(two, tmp_path / "s2", "before-publish"), contains="appeared while exporting"
    )
    assert tree_fingerprint(out) == kept  # the first export is intact
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["project"]["folder"] == str(first)
    assert _hidden(out) == []
    assert (_export_count(first), _export_count(second)) == (1, 0)


@pytest.mark.parametrize("point", ["before-publish", "before-commit", "after-commit"])
def test_the_next_command_sweeps_what_a_killed_export_left(
    tmp_path: Path, point: str, backend: str | None
) -> None:
    project = _project(tmp_path / "a", backend)
    out, sync = tmp_path / "dst", tmp_path / "sync"
    run_cli("export", project, "--out", out, "--seed", "1", check=True)
    previous = tree_fingerprint(out)
    proc = _start(project, out, point, sync, "--force", "--seed", "2")
    _wait_reached(proc, sync, point)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert _hidden(out) != []  # the killed export left its folders
    run_cli("info", project, check=True)  # any command on the project
    assert _hidden(out) == []
    seed = json.loads((out / "provenance.json").read_text())["options"]["seed"]
    if point == "after-commit":  # recorded: the new export stays, the old one is removed
        assert seed == 2 and _export_count(project) == 2
    else:  # not recorded: the previous export is back, as it was
        assert tree_fingerprint(out) == previous and _export_count(project) == 1
    assert not list((project / "export-runs").iterdir())


@pytest.mark.parametrize("point", ["before-commit", "after-commit"])
def test_ctrl_c_at_the_end_of_an_export_says_what_happened(tmp_path: Path, point: str) -> None:
    project = _project(tmp_path / "a")
    out, sync = tmp_path / "dst", tmp_path / "sync"
    run_cli("export", project, "--out", out, "--seed", "1", check=True)
    proc = _start(project, out, point, sync, "--force", "--seed", "2")
    _wait_reached(proc, sync, point)
    proc.send_signal(signal.SIGINT)
    done = _finish(proc, sync, point)  # a Ctrl-C before the commit waits for it
    assert done.returncode == 130
    assert_one_error_line(done, contains=f"after export 2 was written to {out} and recorded")
    assert "unchanged" not in done.stderr
    assert json.loads((out / "provenance.json").read_text())["options"]["seed"] == 2
    assert _export_count(project) == 2
    run_cli("info", project, check=True)
    assert _hidden(out) == []


@pytest.mark.parametrize("delay_ms", [0, 4, 15])
def test_kill_9_anywhere_in_the_swap_keeps_dir_and_store_in_step(
    tmp_path: Path, delay_ms: int
) -> None:
    """kill -9 a few ms after the last file is written (renames, commit, removal of the old
    export): after the next command, DIR holds one whole export, the one the store says."""
    from labelaudit.core.export.ownership import verify_previous_export

    project = _project(tmp_path / "a")
    out, sync = tmp_path / "dst", tmp_path / "sync"
    lookalike = tmp_path / f".dst.labelaudit-old-{os.uname().nodename}-1-abcd"
    lookalike.mkdir()
    (lookalike / "mine.txt").write_text("not labelaudit's")
    run_cli("export", project, "--out", out, "--seed", "1", check=True)
    proc = _start(project, out, "before-publish", sync, "--force", "--seed", "2")
    _wait_reached(proc, sync, "before-publish")
    (sync / "before-publish.go").touch()
    time.sleep(delay_ms / 1000)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    run_cli("info", project, check=True)
    assert _hidden(out) == [lookalike.name]
    assert (lookalike / "mine.txt").read_text() == "not labelaudit's"
    verify_previous_export(out)  # whole and intact
    seed = json.loads((out / "provenance.json").read_text())["options"]["seed"]
    assert _export_count(project) == seed  # seed 1: the first export only; seed 2: both

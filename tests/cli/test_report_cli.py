"""``labelaudit report``: the command, its output line, and bad input as one error line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from export_helpers import make_project
from helpers import assert_one_error_line, run_cli

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("report_cli")
    proj = make_project(base, {"cat": 6, "dog": 5})
    proj.close()
    return proj.folder


def test_report_writes_one_html_file_and_says_where(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    proc = run_cli("report", project, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"report: {out} (") and " MB, " in proc.stdout
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left
    assert "report" in run_cli("--help", check=True).stdout


def test_an_unknown_project_is_one_line(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    proc = run_cli("report", tmp_path / "nothing", "-o", out)
    assert_one_error_line(proc, contains="no project at")
    assert proc.returncode == 2 and not out.exists()


@pytest.mark.parametrize(
    ("where", "says"),
    [("folder", "it is a folder"), ("missing", "does not exist"), ("file", "is not a folder")],
)
def test_an_unwritable_output_is_one_line(
    project: Path, tmp_path: Path, where: str, says: str
) -> None:
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    target = {
        "folder": tmp_path,
        "missing": tmp_path / "no" / "report.html",
        "file": tmp_path / "plain" / "report.html",
    }[where]
    proc = run_cli("report", project, "-o", target)
    assert_one_error_line(proc, contains=says)
    assert proc.returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_a_write_the_system_refuses_is_one_line_and_leaves_nothing(project: Path) -> None:
    # /proc accepts no new files, even from root: the temporary file fails, nothing is left.
    proc = run_cli("report", project, "-o", "/proc/report.html")
    assert_one_error_line(proc, contains="cannot write /proc/report.html")
    assert not os.path.exists("/proc/report.html")


def test_without_matplotlib_it_says_which_extra_to_install(project: Path, tmp_path: Path) -> None:
    # None in sys.modules makes 'import matplotlib' fail as on a machine without it.
    code = (
        "import sys; sys.modules['matplotlib'] = None; from labelaudit.cli.main import main; "
        f"sys.exit(main(['report', {str(project)!r}, '-o', {str(tmp_path / 'r.html')!r}]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert_one_error_line(proc, contains="pip install 'labelaudit[report]'")
    assert proc.returncode == 2 and not (tmp_path / "r.html").exists()

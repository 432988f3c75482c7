"""``labelaudit gui`` refuses what it cannot show in one line, before any window opens."""

from __future__ import annotations

from pathlib import Path

from helpers import assert_one_error_line, make_tree, run_cli

NO_DISPLAY = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "QT_QPA_PLATFORM": ""}


def test_no_display_is_one_line(tmp_path: Path) -> None:
    assert_one_error_line(run_cli("gui", env=NO_DISPLAY, timeout=60), contains="no display")


def test_a_missing_project_is_one_line_before_any_window(tmp_path: Path) -> None:
    proc = run_cli("gui", tmp_path / "nope", env={"QT_QPA_PLATFORM": "offscreen"}, timeout=60)
    assert_one_error_line(proc, contains="no project at")


def test_a_screenshot_needs_no_display(tmp_path: Path) -> None:
    make_tree(tmp_path / "images", {"a": 2, "b": 2})
    run_cli("init", tmp_path / "p", "--images", tmp_path / "images", check=True)
    run_cli("annotators", "add", tmp_path / "p", "ann", check=True)
    shot = tmp_path / "shot.png"
    env = {**NO_DISPLAY, "LABELAUDIT_ANNOTATOR": "ann"}
    proc = run_cli("gui", tmp_path / "p", "--screenshot", shot, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""The app as users start it: `labelaudit gui` in a subprocess, offscreen and under Xvfb."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PIL import Image

from helpers import assert_one_error_line, in_ci, run_cli


def gui_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.update(extra)
    return env


def test_screenshot_saves_the_window_and_never_imports_torch(tmp_path: Path, project) -> None:  # type: ignore[no-untyped-def]
    shot = tmp_path / "shot.png"
    code = textwrap.dedent(
        f"""
        import sys
        from labelaudit.entry import main
        rc = main(['gui', {str(project.folder)!r}, '--annotator', 'ann',
                   '--screenshot', {str(shot)!r}, '--size', '1000x700'])
        heavy = [m for m in ('torch', 'torchvision', 'cleanlab', 'sklearn') if m in sys.modules]
        print('rc', rc, 'heavy', heavy)
        """
    )
    env = {**os.environ, **gui_env(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert "rc 0 heavy []" in proc.stdout, proc.stderr
    with Image.open(shot) as image:
        assert image.size == (1000, 700)
        # Thumbnails were painted: the grid area is not one flat colour.
        assert len(image.crop((300, 150, 700, 450)).getcolors(1_000_000) or []) > 50


def test_screenshot_of_a_bad_project_is_one_error_line(tmp_path: Path) -> None:
    proc = run_cli(
        "gui", tmp_path / "nothing", "--screenshot", tmp_path / "x.png", env=gui_env(tmp_path)
    )
    assert_one_error_line(proc, contains="no project")
    assert not (tmp_path / "x.png").exists()
    bad_size = run_cli(
        "gui", "--size", "big", "--screenshot", tmp_path / "x.png", env=gui_env(tmp_path)
    )
    assert_one_error_line(bad_size, contains="--size")


def test_screenshot_fails_when_thumbnails_do_not_load_in_time(tmp_path: Path, project) -> None:  # type: ignore[no-untyped-def]
    env = gui_env(tmp_path, LABELAUDIT_SCREENSHOT_TIMEOUT="0")
    proc = run_cli("gui", project.folder, "--screenshot", tmp_path / "x.png", env=env)
    assert_one_error_line(proc, contains="did not load")
    assert proc.returncode == 1


def _find_window(title: str, display: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tree = subprocess.run(
            ["xwininfo", "-root", "-tree"],
            capture_output=True,
            text=True,
            env={**os.environ, "DISPLAY": display},
        ).stdout
        if title in tree:
            return True
        time.sleep(0.3)
    return False


@pytest.mark.xvfb
def test_window_appears_on_a_real_x_server(tmp_path: Path, project) -> None:  # type: ignore[no-untyped-def]
    missing = [tool for tool in ("Xvfb", "xwininfo") if shutil.which(tool) is None]
    if missing:
        message = f"{' and '.join(missing)} not installed (apt-get install xvfb x11-utils)"
        if in_ci():
            pytest.fail(message + "; under CI=true the X server test must run")
        pytest.skip(message)
    display = f":{90 + os.getpid() % 500}"
    xvfb = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    app = None
    try:
        time.sleep(1.0)
        assert xvfb.poll() is None, "Xvfb did not start"
        env = {
            **os.environ,
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
        }
        app = subprocess.Popen(
            [sys.executable, "-m", "labelaudit", "gui", str(project.folder), "--annotator", "ann"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        title = f"{project.folder.name} — ann (annotator) — labelaudit"
        found = _find_window(title, display, timeout=60)
        if not found:
            app.terminate()
            _, err = app.communicate(timeout=10)
            pytest.fail(f"the window never appeared on {display}: {err[-2000:]}")
        assert app.poll() is None, "the app exited"
    finally:
        if app is not None and app.poll() is None:
            app.terminate()
            app.wait(timeout=10)
        xvfb.terminate()
        xvfb.wait(timeout=10)

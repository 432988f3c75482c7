"""Starting the app: ``labelaudit gui [PROJECT]`` and ``labelaudit-gui`` end up here.

``--screenshot FILE.png`` opens the project, waits until the visible thumbnails (and the current
image) have loaded, saves the window and exits: 0 on success, 1 when they never load in time,
2 when the project cannot be opened.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from PySide6.QtCore import QMessageLogContext, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from labelaudit import __version__
from labelaudit.gui.app_icon import app_icon
from labelaudit.gui.main_window import APP_NAME, MainWindow, env_annotator
from labelaudit.gui.session import ERROR
from labelaudit.resources import APP_ID

SCREENSHOT_TIMEOUT_S = float(os.environ.get("LABELAUDIT_SCREENSHOT_TIMEOUT", "60"))


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size wants WIDTHxHEIGHT such as 1400x900, got {text!r}") from None
    if not (200 <= width <= 10000 and 200 <= height <= 10000):
        raise ValueError(f"--size {text} is out of range (200..10000 pixels per side)")
    return width, height


# Noise from Qt platform plugins that says nothing to a user (offscreen logs it per window).
QUIET_QT_MESSAGES = ("This plugin does not support propagateSizeHints",)


def _qt_messages(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    if not any(message.startswith(quiet) for quiet in QUIET_QT_MESSAGES):
        print(message, file=sys.stderr)


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        qInstallMessageHandler(_qt_messages)
        app = QApplication([sys.argv[0] if sys.argv else APP_NAME])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    # Wayland matches windows to the desktop entry (and its icon) by this name.
    app.setDesktopFileName(APP_ID)
    return app


def _fail(message: str, code: int) -> int:
    print(f"labelaudit: error: {message}", file=sys.stderr)
    return code


def run_from_args(args: argparse.Namespace) -> int:
    try:
        size = parse_size(getattr(args, "size", None) or "1400x900")
    except ValueError as exc:
        return _fail(str(exc), 2)
    app = application()
    screenshot: Path | None = getattr(args, "screenshot", None)
    window = MainWindow(annotator=env_annotator(args.annotator), interactive=screenshot is None)
    window.resize(*size)
    errors: list[str] = []
    window.session.message.connect(
        lambda level, text: errors.append(text) if level == ERROR else None
    )
    window.show()
    opened = args.project is None or window.open_project(Path(args.project), db_url=args.db)
    if not opened and screenshot is not None:
        window.close()
        return _fail(errors[-1] if errors else f"cannot open {args.project}", 2)
    window.resize(*size)  # again: the project's widgets may allow a smaller window now
    if screenshot is not None:
        return _take_screenshot(app, window, screenshot)
    code = app.exec()
    return int(code)


def _take_screenshot(app: QApplication, window: MainWindow, target: Path) -> int:
    """Wait for the visible thumbnails and the detail image, then save the window."""
    outcome: dict[str, int] = {}
    deadline = QTimer()
    deadline.setSingleShot(True)
    check = QTimer()
    check.setInterval(50)

    def ready() -> bool:
        return window.grid.visible_done() and not window.detail.busy

    def try_save() -> None:
        if outcome or not ready():
            return
        app.processEvents()
        target.parent.mkdir(parents=True, exist_ok=True)
        saved = window.grab().save(str(target))
        outcome["code"] = 0 if saved else _fail(f"cannot write {target}", 2)
        app.quit()

    def give_up() -> None:
        if not outcome:
            outcome["code"] = _fail(
                f"the visible thumbnails did not load within {SCREENSHOT_TIMEOUT_S:g} s", 1
            )
            app.quit()

    check.timeout.connect(try_save)
    deadline.timeout.connect(give_up)
    window.grid.request_visible()
    check.start()
    deadline.start(int(SCREENSHOT_TIMEOUT_S * 1000))
    app.exec()
    check.stop()
    deadline.stop()
    window.close()
    return outcome.get("code", 1)

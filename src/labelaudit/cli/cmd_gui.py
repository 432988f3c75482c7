"""``labelaudit gui [PROJECT]``: the review app (started by the entry point, not imported here)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from labelaudit.cli.common import add_db_arg, has_display
from labelaudit.core.errors import InputError, LabelauditError
from labelaudit.core.project import Project


def _run(args: argparse.Namespace) -> int:
    if args.gui_launcher is None:
        raise LabelauditError("the app can only be started through the labelaudit command")
    args.gui_precheck = precheck  # run by the launcher once PySide6 imported
    return int(args.gui_launcher(args))


def precheck(args: argparse.Namespace) -> None:
    """What can be refused in one line before a window exists: no display, a bad PROJECT."""
    if not (os.environ.get("QT_QPA_PLATFORM") or has_display()):  # a platform set by hand counts
        if args.screenshot is None:
            raise InputError(
                "no display: the app needs a desktop session (DISPLAY or WAYLAND_DISPLAY); "
                "use the labelaudit commands here, or --screenshot FILE.png"
            )
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    if args.project is not None:
        Project.open(args.project, db_url=args.db).close()  # a bad PROJECT is one line, no window


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("gui", help="open the review app")
    parser.add_argument("project", type=Path, nargs="?", metavar="PROJECT", help="project folder")
    add_db_arg(parser)
    parser.add_argument(
        "--annotator", metavar="NAME", help="who is working (also LABELAUDIT_ANNOTATOR)"
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="FILE.png",
        help="open, wait for the visible thumbnails, save the window to a PNG and exit",
    )
    parser.add_argument("--size", default="1400x900", metavar="WxH", help="window size")
    parser.set_defaults(func=_run)

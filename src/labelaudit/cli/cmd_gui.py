"""``labelaudit gui [PROJECT]``: the review app (started by the entry point, not imported here)."""

from __future__ import annotations

import argparse
from pathlib import Path

from labelaudit.cli.common import add_db_arg
from labelaudit.core.errors import LabelauditError


def _run(args: argparse.Namespace) -> int:
    if args.gui_launcher is None:
        raise LabelauditError("the app can only be started through the labelaudit command")
    return int(args.gui_launcher(args))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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

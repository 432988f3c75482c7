"""Console and GUI entry points.

This module sits above both ``labelaudit.cli`` and ``labelaudit.gui`` so that neither imports the
other: the ``gui`` sub-command is parsed by the CLI and handed to the app through a launcher that is
only imported when it runs (the CLI must start without Qt installed).
"""

from __future__ import annotations

import argparse
import importlib
import sys


def _launch_gui(args: argparse.Namespace) -> int:
    try:
        app = importlib.import_module("labelaudit.gui.app")
    except ImportError as exc:  # PySide6 missing: the gui extra is not installed
        print(
            f"labelaudit: error: the app needs PySide6 ({exc}); install it with "
            "pip install 'labelaudit[gui]'",
            file=sys.stderr,
        )
        return 2
    precheck = getattr(args, "gui_precheck", None)
    if precheck is not None:
        precheck(args)  # LabelauditError: one line from the CLI's handler
    return int(app.run_from_args(args))


def main(argv: list[str] | None = None) -> int:
    from labelaudit.cli.main import main as cli_main

    return cli_main(argv, gui_launcher=_launch_gui)


def gui_main() -> int:
    """``labelaudit-gui [PROJECT] [options]``: the app, with the CLI's ``gui`` options."""
    return main(["gui", *sys.argv[1:]])

"""``labelaudit``: the command-line interface. One module per sub-command; all call the core.

Every failure is one line on stderr and a non-zero exit: user errors (2), a locked database (3),
interruption (130), and, for a bug, an internal-error line (70) with the traceback only when
``LABELAUDIT_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import traceback
from collections.abc import Callable

from labelaudit import __version__
from labelaudit.core.errors import LabelauditError

# Sub-command modules, in the order ``--help`` lists them.
COMMANDS = (
    "cmd_init",
    "cmd_import",
    "cmd_info",
    "cmd_config",
    "cmd_scan",
    "cmd_issues",
    "cmd_summary",
    "cmd_annotators",
    "cmd_vote",
    "cmd_votes",
    "cmd_queue",
    "cmd_consensus",
    "cmd_resolve",
    "cmd_accept",
    "cmd_review",
    "cmd_agreement",
    "cmd_export",
    "cmd_retrain",
    "cmd_report",
    "cmd_demo",
    "cmd_gui",
    "cmd_install_desktop",
)

GuiLauncher = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labelaudit",
        description="Find and fix wrong labels in image-classification datasets.",
    )
    parser.add_argument("--version", action="version", version=f"labelaudit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"labelaudit.cli.{name}")
        module.register(sub)
    return parser


def _fail(message: str, code: int) -> int:
    from labelaudit.cli.common import for_terminal  # escape codes in a name must not act

    print(f"labelaudit: error: {for_terminal(message)}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None, *, gui_launcher: GuiLauncher | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.gui_launcher = gui_launcher
    args.cli_argv = list(sys.argv[1:] if argv is None else argv)  # to start the same command
    try:
        return int(args.func(args) or 0)
    except LabelauditError as exc:
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        print(
            "labelaudit: interrupted; the project is unchanged by the unfinished step",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        # The reader (``| head``) went away: not an error worth a message.
        sys.stderr.close()
        return 0
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            return _fail(f"no space left on the device ({exc.filename or 'while writing'})", 2)
        where = f": {exc.filename}" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}", 2)
    except Exception as exc:  # a bug: say so in one line; the traceback is opt-in
        if os.environ.get("LABELAUDIT_DEBUG"):
            traceback.print_exc()
        return _fail(
            f"internal error: {type(exc).__name__}: {exc} (set LABELAUDIT_DEBUG=1 for details)", 70
        )

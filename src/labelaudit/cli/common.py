"""Helpers shared by the sub-commands: project arguments, opening, output."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from labelaudit.core.errors import InputError
from labelaudit.core.project import Project


def add_project_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", type=Path, metavar="PROJECT", help="project folder")
    add_db_arg(parser)


def add_db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL (postgresql://user@host/db) for a shared team store; default: the "
        "project's own SQLite file (also LABELAUDIT_DB)",
    )


def open_project(args: argparse.Namespace) -> Project:
    return Project.open(args.project, db_url=args.db)


# Characters that act on a terminal instead of showing: C0/C1 controls (ESC starts colour and
# cursor sequences, CSI is a one-byte ESC [), DEL, line separators and the bidi controls that
# reorder what follows (U+202E makes "gpj.exe" read "exe.jpg").
_BIDI = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_JSON = re.compile(f"[\x7f-\x9f{_BIDI}]")  # json escapes C0 controls itself


def for_terminal(value: Any) -> str:
    """``value`` as text that cannot act on a terminal: every unsafe character becomes a visible
    escape (``\\x1b``, ``\\u202e``). For names and paths in human-readable output, never data."""
    return _UNSAFE.sub(lambda m: _escape(m.group()), str(value))


def for_terminal_data(data: Any) -> Any:
    """``data`` (dicts, lists, text) with every string, keys included, through ``for_terminal``."""
    if isinstance(data, str):
        return for_terminal(data)
    if isinstance(data, dict):
        return {for_terminal_data(k): for_terminal_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [for_terminal_data(v) for v in data]
    return data


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def print_json(data: Any) -> None:
    """JSON on stdout; characters that act on a terminal are written as \\u escapes (the same
    JSON value)."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(_UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


def check_output(path: Path | None) -> None:
    """Refuse an output path that cannot be written, before any work (stdout: None or '-')."""
    if path is None or str(path) == "-":
        return
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder; name a file")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"cannot write {path}: the folder {folder} {what}")
    if not os.access(folder, os.W_OK):
        raise InputError(f"cannot write {path}: the folder {folder} is not writable")


def write_atomically(path: Path, fill: Callable[[TextIO], Any]) -> None:
    """Write through ``fill(fh)`` to a temporary file beside ``path``, then rename it into place:
    no half-written file remains, and a failure names ``path``, not the temporary file."""
    check_output(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            fill(fh)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):  # e.g. never created: the folder refused it
            tmp.unlink(missing_ok=True)


def has_display() -> bool:
    """Whether a desktop session can show a window here (Linux needs X or Wayland)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))

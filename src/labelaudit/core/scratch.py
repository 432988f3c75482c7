"""Temporary folders for big scratch files, and the sweep of those a killed process left.

A large audit spills row copies of pred_probs (N x K x 4 bytes) to the temporary folder; a
``kill -9`` runs no cleanup, so they would stay. Each scratch folder holds a marker naming the
host and process that made it, and the next one made with the same prefix removes the folders
whose marker names this host and a process that no longer runs. A folder without our marker,
or a live labelaudit's, is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labelaudit.core.processes import pid_exists

MARKER = ".labelaudit-scratch"


def scratch_folder(prefix: str, *, parent: str | Path | None = None) -> Path:
    """A new folder ``<parent>/<prefix>XXXX`` (default: the system's temporary folder), marked
    as this process's; left-overs of dead processes with the same prefix are removed first."""
    base = Path(parent or tempfile.gettempdir())
    sweep(prefix, parent=base)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    marker = {"host": socket.gethostname(), "pid": os.getpid(), "pid_space": _pid_space()}
    (folder / MARKER).write_text(json.dumps(marker), encoding="utf-8")
    return folder


@contextmanager
def scratch(prefix: str, *, parent: str | Path | None = None) -> Iterator[Path]:
    """``scratch_folder``, removed on exit."""
    folder = scratch_folder(prefix, parent=parent)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep(prefix: str, *, parent: Path) -> list[Path]:
    """Remove the scratch folders under ``parent`` named ``prefix*`` that a process of this host
    made and that outlived it; the removed folders."""
    host, space = socket.gethostname(), _pid_space()
    removed = []
    for folder in parent.glob(f"{glob_escape(prefix)}*"):
        if folder.is_symlink() or not folder.is_dir():
            continue
        try:
            owner = json.loads((folder / MARKER).read_text(encoding="utf-8"))
            pid = int(owner["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours, or not readable: leave it
        if owner.get("host") != host or owner.get("pid_space") != space or pid_exists(pid):
            continue  # another machine or container (its pids are not ours to test), or alive
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _pid_space() -> int | None:
    """This process's pid namespace (Linux): two containers may share a host name and /tmp."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)

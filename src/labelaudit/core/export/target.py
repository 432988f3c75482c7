"""The export folder: checks before writing, a temporary folder beside it, and the final rename.

An export is written to ``.<DIR>.labelaudit-tmp-<host>-<pid>-<id>`` beside DIR and renamed to DIR
only once complete, so a killed export never leaves a half-written DIR. With ``--force`` the old
DIR is renamed aside first and deleted only after the new one is in place. A temporary folder
left by a killed export (its process gone) is removed by the next export to the same DIR.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import uuid
from pathlib import Path

from labelaudit.core.audit.scan_rows import pid_exists
from labelaudit.core.errors import DiskFullError, InputError, LabelauditError
from labelaudit.core.paths import overlaps

PROVENANCE = "provenance.json"
TMP_TAG = ".labelaudit-tmp-"
OLD_TAG = ".labelaudit-old-"


def check_target(out_dir: Path, *, image_root: Path, project_folder: Path, force: bool) -> Path:
    """The absolute export folder, after refusing anything unsafe (see the module docstring)."""
    out = Path(os.path.abspath(out_dir))
    for what, folder in (("image root", image_root), ("project folder", project_folder)):
        if overlaps(out, folder):
            raise InputError(
                f"the export folder {out} overlaps the {what} {folder}; choose a folder outside "
                "both (this is refused even with --force)"
            )
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise InputError(f"{out} exists and is not a folder; choose another --out")
    _check_writable(out)
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise InputError(f"{out} already exists; --force replaces it")
        if not is_previous_export(out):
            raise InputError(
                f"{out} is not a labelaudit export (no {PROVENANCE} written by labelaudit); "
                "--force only replaces a previous export"
            )
    return out


def _check_writable(out: Path) -> None:
    """Refuse up front when the temporary folder beside ``out`` cannot be made: the nearest
    existing folder above it must be a writable folder."""
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot write {out}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {out}: {parent} is not writable")


def write_error(out: Path, exc: OSError) -> LabelauditError:
    """A write failure in the user's words: their DIR, not the temporary folder beside it."""
    if exc.errno == errno.ENOSPC:
        return DiskFullError(f"cannot write {out}: no space left on the device")
    return InputError(f"cannot write {out}: {exc.strerror or exc}")


def is_previous_export(folder: Path) -> bool:
    try:
        data = json.loads((folder / PROVENANCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "labelaudit_version" in data


def _prefix(out: Path, tag: str) -> str:
    return f".{out.name}{tag}"


def make_temp_folder(out: Path) -> Path:
    """A fresh, empty folder beside ``out`` (same file system, so the final rename is atomic)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    host = _safe_host()
    tmp = out.parent / f"{_prefix(out, TMP_TAG)}{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    return tmp


def _safe_host() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"


def clean_leftovers(out: Path) -> list[Path]:
    """Remove temporary folders of dead exports to ``out``; restore an old DIR whose swap was cut.

    Returns the folders removed. Only folders made on this host are judged (a pid means nothing
    on another machine sharing the disk).
    """
    removed: list[Path] = []
    if not out.parent.is_dir():
        return removed
    tmp_prefix = f"{_prefix(out, TMP_TAG)}{_safe_host()}-"
    old_prefix = f"{_prefix(out, OLD_TAG)}{_safe_host()}-"
    for entry in sorted(out.parent.iterdir()):
        if entry.name.startswith(tmp_prefix) and not _alive(entry.name[len(tmp_prefix) :]):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        elif entry.name.startswith(old_prefix) and not _alive(entry.name[len(old_prefix) :]):
            if out.exists():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
            else:  # killed between the two renames: the previous export comes back
                os.rename(entry, out)
    return removed


def _alive(pid_and_id: str) -> bool:
    try:
        pid = int(pid_and_id.split("-")[0])
    except ValueError:
        return True  # not ours to judge
    return pid == os.getpid() or pid_exists(pid)


def publish(tmp: Path, out: Path) -> Path | None:
    """Rename ``tmp`` to ``out``. An existing ``out`` is moved aside first and returned (the
    caller deletes it once the export is recorded); it is put back if the rename fails."""
    if not out.exists():
        os.rename(tmp, out)
        return None
    old = out.parent / f"{_prefix(out, OLD_TAG)}{_safe_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old, out)
        raise
    return old

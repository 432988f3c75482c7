"""The export folder: checks before writing, a temporary folder beside it, and the final rename.

An export is written to ``.<DIR>.labelaudit-tmp-<host>-<pid>-<id>`` beside DIR and renamed to DIR
only once complete, so a killed export never leaves a half-written DIR. The rename never replaces
anything (src/labelaudit/core/export/rename.py): a DIR that appeared while the export ran is
left untouched and the export refused. With ``--force`` the previous export in DIR, verified to
hold only files labelaudit wrote (src/labelaudit/core/export/ownership.py), is renamed aside
first, checked to be unchanged, and removed only once the new one is recorded. Every folder
made here is noted in the export's run record (src/labelaudit/core/export/runs.py), from which
the next command on the project cleans up after a killed export.
"""

from __future__ import annotations

import errno
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from labelaudit.core.errors import DiskFullError, InputError, LabelauditError
from labelaudit.core.export.ownership import (
    Snapshot,
    first_difference,
    folder_id,
    snapshot_of,
    verify_previous_export,
)
from labelaudit.core.export.rename import rename_noreplace
from labelaudit.core.export.runs import ExportRun, safe_host
from labelaudit.core.paths import overlaps

TMP_TAG = ".labelaudit-tmp-"
OLD_TAG = ".labelaudit-old-"


@dataclass(frozen=True)
class Target:
    """DIR, and what was there when the export started: nothing, an empty folder, or a
    verified previous export (``--force``)."""

    out: Path
    empty_folder: bool = False
    previous: Snapshot | None = None


def check_target(out_dir: Path, *, image_root: Path, project_folder: Path, force: bool) -> Target:
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
        return Target(out, previous=verify_previous_export(out))
    return Target(out, empty_folder=out.is_dir())


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


def _prefix(out: Path, tag: str) -> str:
    return f".{out.name}{tag}"


def _beside(out: Path, tag: str) -> Path:
    return out.parent / f"{_prefix(out, tag)}{safe_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def make_temp_folder(out: Path, run: ExportRun) -> Path:
    """A fresh, empty folder beside ``out`` (same file system, so the final rename is atomic)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _beside(out, TMP_TAG)
    run.note(tmp=str(tmp))
    tmp.mkdir()
    run.note(tmp_id=folder_id(tmp))
    return tmp


def publish(tmp: Path, target: Target, run: ExportRun) -> Path | None:
    """Rename ``tmp`` to DIR without ever replacing what the export did not expect there.

    A previous export (``--force``) is renamed aside first, compared with what was verified,
    and returned (the caller removes it once the new export is recorded); it is put back if
    anything fails. InputError, with nothing changed, when DIR appeared or changed meanwhile."""
    out = target.out
    if target.empty_folder:
        try:
            os.rmdir(out)  # fails on anything put into it meanwhile: then the rename refuses
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                raise
    if target.previous is None:
        _rename_new(tmp, out)
        return None
    old = _beside(out, OLD_TAG)
    run.note(old=str(old), old_id=target.previous.root_id)
    try:
        rename_noreplace(out, old)
    except FileNotFoundError:  # the previous export was removed meanwhile
        _rename_new(tmp, out)
        return None
    now = snapshot_of(old)
    if now != target.previous:
        _put_back(old, out)
        raise InputError(
            f"{out} changed while exporting ({first_difference(now, target.previous)}); it was "
            "left as it was and nothing was exported"
        )
    try:
        _rename_new(tmp, out)
    except BaseException:
        _put_back(old, out)
        raise
    return old


def _rename_new(tmp: Path, out: Path) -> None:
    try:
        rename_noreplace(tmp, out)
    except FileExistsError:
        raise InputError(
            f"{out} appeared while exporting; it was left untouched and nothing was exported "
            "(choose another --out, or --force to replace a previous export)"
        ) from None


def _put_back(old: Path, out: Path) -> None:
    try:
        rename_noreplace(old, out)
    except FileExistsError:
        raise InputError(
            f"{out} appeared while exporting; the previous export in it was kept as {old}"
        ) from None


def unpublish(tmp: Path, out: Path, old: Path | None) -> None:
    """Undo ``publish`` (the transaction recording the export failed): the new export back to
    its temporary folder, the previous one back to DIR."""
    rename_noreplace(out, tmp)
    if old is not None:
        _put_back(old, out)

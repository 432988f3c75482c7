"""What a running export has made beside DIR, recorded in the project folder, so that the next
command on the project cleans up after an export that was killed (kill -9, a power cut).

Each export keeps ``<project>/export-runs/<run>.json``: a few JSON lines, appended before each
step (so a kill mid-write loses at most a line about a step not yet taken), naming DIR, its
temporary folder and the previous export moved aside, with the device and inode of each. It
holds an exclusive ``flock`` on the file while it runs: the kernel drops it when the process
dies, so a lock that can be taken means the export is gone (where there is no ``flock``, a pid
that no longer runs does). ``sweep_killed_exports`` (called when a project is opened) then
removes only folders whose inode is the one recorded, finishes or undoes the final swap as the
database says (the audit-log entry carries the run id), and re-verifies an export before
removing it (src/labelaudit/core/export/ownership.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from labelaudit.core.errors import LabelauditError
from labelaudit.core.export.ownership import folder_id, remove_export, verify_previous_export
from labelaudit.core.export.rename import rename_noreplace
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import audit_log

RUNS_DIR = "export-runs"
_ACTIVE: set[str] = set()  # run ids of this process's unfinished exports (no-flock platforms)


def safe_host() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"


class ExportRun:
    """The record of one running export (see the module docstring)."""

    def __init__(self, path: Path, fd: int, run_id: str) -> None:
        self.path = path
        self.fd: int | None = fd
        self.run_id = run_id

    @classmethod
    def start(cls, project_folder: Path, out: Path) -> ExportRun:
        runs = project_folder / RUNS_DIR
        runs.mkdir(exist_ok=True)
        run_id = uuid.uuid4().hex
        path = runs / f"{run_id}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        _lock(fd, wait=True)
        _ACTIVE.add(run_id)
        run = cls(path, fd, run_id)
        run.note(run=run_id, host=safe_host(), pid=os.getpid(), out=str(out))
        return run

    def note(self, **fields: Any) -> None:
        """Append what is about to be done (paths, inodes), durably."""
        assert self.fd is not None
        os.write(self.fd, (json.dumps(fields) + "\n").encode("utf-8"))
        os.fsync(self.fd)

    def finish(self) -> None:
        """Everything cleaned up: the record goes (kept if the run was released before)."""
        if self.fd is not None:
            self.path.unlink(missing_ok=True)
            self.release()

    def release(self) -> None:
        """Give up without cleaning: the next command on the project sweeps what is left."""
        _ACTIVE.discard(self.run_id)
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock
            self.fd = None


def _lock(fd: int, *, wait: bool) -> bool:
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def sweep_killed_exports(project_folder: Path, store: Store) -> int:
    """Clean up after this project's exports that died; returns how many were swept. Never
    fails: a folder it cannot judge is left as it is."""
    runs = project_folder / RUNS_DIR
    if not runs.is_dir():
        return 0
    swept = 0
    for marker in sorted(runs.glob("*.json")):
        with contextlib.suppress(OSError, ValueError, LabelauditError):
            swept += _sweep_one(marker, store)
    return swept


def _sweep_one(marker: Path, store: Store) -> int:
    fd = os.open(marker, os.O_RDWR)
    try:
        if not _lock(fd, wait=False) or os.fstat(fd).st_ino != os.stat(marker).st_ino:
            return 0  # still running (or already swept by another process)
        with os.fdopen(os.dup(fd), encoding="utf-8") as fh:
            data = _merge(fh.read())
        run_id = marker.stem
        if not _dead(run_id, data):
            return 0
        if "out" not in data:  # killed before its first note, so before making anything
            marker.unlink()
            return 0
        if data.get("host") != safe_host():
            return 0  # another machine's export on a shared disk: not for this one to judge
        committed = _recorded(store, run_id)  # a store error keeps the record
        with contextlib.suppress(LabelauditError):  # not provably ours any more: left as is
            _undo(data, committed=committed)
        marker.unlink()
        return 1
    finally:
        os.close(fd)


def _merge(text: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for line in text.splitlines():
        with contextlib.suppress(ValueError):  # a line cut by the kill
            data.update(json.loads(line))
    return data


def _dead(run_id: str, data: dict[str, Any]) -> bool:
    try:
        import fcntl  # noqa: F401 - the lock taken proved it
    except ImportError:
        from labelaudit.core.processes import pid_exists

        pid = int(data.get("pid", 0))
        return run_id not in _ACTIVE and not (pid and pid != os.getpid() and pid_exists(pid))
    return True


def _is(path: str | None, ident: list[int] | None) -> bool:
    """Whether ``path`` is still the very folder recorded (same device and inode)."""
    if not path or not ident or not os.path.isdir(path) or os.path.islink(path):
        return False
    return list(folder_id(Path(path))) == list(ident)


def _undo(data: dict[str, Any], *, committed: bool) -> None:
    out, tmp, old = Path(data["out"]), data.get("tmp"), data.get("old")
    published = _is(str(out), data.get("tmp_id"))
    if _is(tmp, data.get("tmp_id")):
        shutil.rmtree(str(tmp))  # never renamed into place
    elif tmp and data.get("tmp_id") is None and os.path.isdir(tmp):
        os.rmdir(tmp)  # killed before its inode was noted: only ever removed while empty
    if _is(old, data.get("old_id")):
        assert old is not None
        if committed:  # the new export stands: the replaced one goes
            verify_previous_export(Path(old), require_match=False)
            remove_export(Path(old))
            return
        if published:  # renamed into place but never recorded: undo the swap
            verify_previous_export(out)
            remove_export(out)
        rename_noreplace(Path(old), out)
    elif published and not committed:
        verify_previous_export(out)
        remove_export(out)


def _recorded(store: Store, run_id: str) -> bool:
    with store.read() as conn:
        found = conn.execute(
            sa.select(audit_log.c.id)
            .where(audit_log.c.action == "export")
            .where(audit_log.c.details.like(f'%"run": "{run_id}"%'))
            .limit(1)
        ).first()
    return found is not None

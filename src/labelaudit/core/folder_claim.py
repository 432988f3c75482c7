"""An exclusive claim on a new project folder, so that a failed ``init`` removes only its own.

Two ``init`` runs on one folder both saw it absent or empty; the loser's cleanup then removed
the winner's project. Now a run claims the folder by creating a lock file with ``O_EXCL`` (only
one run can) and checks it is empty only after that; cleanup removes the files it wrote, by
name, and the folder itself only where ``mkdir`` made it in this run and it is empty again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from labelaudit.core.errors import ProjectError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the O_EXCL lock file alone guards the folder
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".labelaudit-init.lock"


class FolderClaim:
    """Held while a project is created in ``folder``; undo() removes what the run wrote."""

    def __init__(self, folder: Path, *, created_folder: bool, own_files: tuple[str, ...]) -> None:
        self.folder = folder
        self.created_folder = created_folder
        self.own_files = own_files
        self.lock = folder / LOCK_NAME
        self.held = False
        self.fd: int | None = None

    @classmethod
    def take(cls, folder: Path, *, own_files: tuple[str, ...], marker: str) -> FolderClaim:
        """Claim ``folder`` (made if missing) for a new project; ``marker`` names a project file."""
        _refuse_used(folder, marker)  # before writing anything into a folder that is not ours
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(folder)
            created = True
        except FileExistsError:
            created = False
        if not folder.is_dir():
            raise ProjectError(f"{folder} exists and is not an empty folder")
        claim = cls(folder, created_folder=created, own_files=own_files)
        try:
            claim.fd = os.open(claim.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            raise _busy(folder) from None
        if fcntl is not None:  # held while this process lives: tells a running init from a dead one
            fcntl.flock(claim.fd, fcntl.LOCK_EX)  # waits out a checker's brief look
        claim.held = True
        try:
            _refuse_used(folder, marker, ignore=LOCK_NAME)  # filled since the first look
        except ProjectError:
            claim.release()
            raise
        return claim

    def release(self) -> None:
        """Let other runs see the folder (the project is complete or undone)."""
        if self.held:
            self.held = False
            with contextlib.suppress(FileNotFoundError):
                self.lock.unlink()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def undo(self) -> None:
        """Remove the files this run wrote, then the folder if this run made it."""
        for name in self.own_files:
            path = self.folder / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        self.release()
        if self.created_folder:
            with contextlib.suppress(OSError):  # not empty: something not ours is in it
                self.folder.rmdir()


def _refuse_used(folder: Path, marker: str, *, ignore: str = "") -> None:
    if not folder.exists() and not folder.is_symlink():
        return
    if not folder.is_dir():
        raise ProjectError(f"{folder} exists and is not an empty folder")
    others = [p.name for p in folder.iterdir() if p.name != ignore]
    if marker in others:
        raise ProjectError(
            f"{folder} is already a labelaudit project; use 'labelaudit import' to re-import"
        )
    if LOCK_NAME in others:
        raise _busy(folder)
    if others:
        raise ProjectError(f"{folder} exists and is not an empty folder")


def _busy(folder: Path) -> ProjectError:
    if _lock_is_held(folder / LOCK_NAME):
        return ProjectError(f"another 'labelaudit init' is creating a project in {folder}")
    return ProjectError(
        f"an earlier 'labelaudit init' of {folder} did not finish (killed?) and left "
        f"{LOCK_NAME} there: remove {folder} and try again"
    )


def _lock_is_held(lock: Path) -> bool:
    """Whether a live process holds the init lock (True where that cannot be told)."""
    if fcntl is None:
        return True
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False

"""Rename a folder only where nothing is: the atomic check the final step of an export needs.

``os.rename`` silently replaces an empty folder (and ``publish`` used to move anything aside),
so a folder that appears while an export runs could be lost. Linux has ``renameat2`` with
``RENAME_NOREPLACE`` and macOS ``renamex_np`` with ``RENAME_EXCL``: one system call that fails
with EEXIST when the target exists. Elsewhere (or on a file system that lacks the flag) the
fallback re-checks under an advisory lock on the parent folder and lets ``os.rename`` refuse a
non-empty folder or a file by itself; only an empty folder made in the microseconds between the
check and the rename can be replaced there, and it holds nothing. Windows' rename never replaces.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path

AT_FDCWD = -100
RENAME_NOREPLACE = 1  # linux/fs.h
RENAME_EXCL = 0x4  # macOS sys/stdio.h
#: errno values meaning "the target is there" from rename(2) and its no-replace variants.
TARGET_EXISTS = frozenset({errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR})

Syscall = Callable[[bytes, bytes], int]


@cache
def _native() -> Syscall | None:
    """The C function that renames without replacing, or None where there is none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:
        return None
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        fn = libc.renameat2
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        return lambda a, b: int(fn(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE))
    if sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        fnx = libc.renamex_np
        fnx.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
        return lambda a, b: int(fnx(a, b, RENAME_EXCL))
    return None


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``; FileExistsError (nothing moved) when anything is at ``dst``."""
    native = _native()
    if native is not None:
        if native(os.fsencode(src), os.fsencode(dst)) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            if err == errno.EEXIST:
                raise FileExistsError(err, os.strerror(err), str(dst))
            raise OSError(err, os.strerror(err), str(src), None, str(dst))
        # EINVAL/ENOSYS/ENOTSUP: this file system has no no-replace rename; fall back.
    _rename_checked(src, dst)


def _rename_checked(src: Path, dst: Path) -> None:
    with _parent_lock(dst.parent):
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
        try:
            os.rename(src, dst)
        except OSError as exc:
            if exc.errno in TARGET_EXISTS or isinstance(exc, FileExistsError):
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst)) from None
            raise


@contextmanager
def _parent_lock(folder: Path) -> Iterator[None]:
    """An advisory lock on a folder: serialises labelaudit's own fallback renames into it."""
    try:
        import fcntl
    except ImportError:  # Windows: its rename never replaces anyway
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        with suppress(OSError):  # a file system without locks: the re-check still holds
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock

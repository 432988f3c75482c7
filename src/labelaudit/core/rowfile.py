"""Rows of large arrays read from and written to files in blocks, with plain file reads and
writes: the pages of a memory map that are touched stay in the process's resident memory until
it is unmapped, so a pass over a 4 GB memory-mapped .npy would hold 4 GB; ``np.fromfile`` and
``os.pwrite`` go through the page cache without keeping anything in the process.

Used by the audit (``audit/batched.py``, ``audit/inputs.py``) and the store (``store/arrays.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np


def whole_file(array: np.ndarray) -> tuple[str, int] | None:
    """(path, byte offset) when ``array`` is a whole C-ordered memory-mapped file, else None."""
    if not isinstance(array, np.memmap) or not array.filename or not array.flags.c_contiguous:
        return None
    try:
        size = os.path.getsize(array.filename)
    except OSError:
        return None
    return (str(array.filename), int(array.offset)) if array.offset + array.nbytes == size else None


def read_rows(array: np.ndarray, start: int, stop: int) -> np.ndarray:
    """An in-memory copy of ``array[start:stop]`` (same dtype; axis 0 = rows), read from the file
    when ``array`` is a whole memory-mapped file."""
    found = whole_file(array) if array.ndim else None
    if found is None:
        return np.array(array[start:stop])
    path, offset = found
    row = int(np.prod(array.shape[1:], dtype=np.int64))
    stop = min(stop, array.shape[0])
    count = max(0, stop - start) * row
    block = np.fromfile(
        path, dtype=array.dtype, count=count, offset=offset + start * row * array.itemsize
    )
    return block.reshape((max(0, stop - start), *array.shape[1:]))


def write_rows_at(
    blocks: Iterable[tuple[int, np.ndarray]], position: np.ndarray, path: str, *, n: int, k: int
) -> None:
    """A new raw float32 file of ``n`` x ``k`` where row ``start + i`` of the blocks (each
    (rows, k), first row ``start``) goes to row ``position[start + i]``. The rows of a block
    that land next to each other are written together."""
    row_bytes = 4 * k
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(fd, n * row_bytes)
        for start, block in blocks:
            if not len(block):
                continue
            p = position[start : start + len(block)]
            idx = np.argsort(p, kind="stable")
            ordered = np.ascontiguousarray(block[idx], dtype=np.float32)
            sp = p[idx]
            breaks = np.flatnonzero(np.diff(sp) != 1) + 1
            for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(sp)], strict=True):
                _write_at(fd, ordered[a:b].data.cast("B"), int(sp[a]) * row_bytes)
    finally:
        os.close(fd)


def _write_at(fd: int, data: memoryview, offset: int) -> None:
    while data:  # pwrite may write less than asked
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written

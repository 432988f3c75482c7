"""Numpy arrays stored in the database as chunked raw blobs (both backends, no side files).

Chunks split axis 0 so that a 1,000,000 x 100 float32 array (400 MB) goes in as ~13 rows of 32 MB
rather than one huge parameter, and reads stream into one preallocated array.
"""

from __future__ import annotations

import json

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.rowfile import read_rows, whole_file
from labelaudit.core.store.schema import arrays

CHUNK_BYTES = 32 * 1024 * 1024


def put_array(conn: Connection, owner: str, name: str, array: np.ndarray) -> None:
    """Store (or replace) ``array`` under (owner, name), inside the caller's transaction.

    A whole memory-mapped file (a large pred_probs, audit/inputs.py) is read chunk by chunk
    with file reads, so that its pages are not all kept in this process."""
    mapped = array.ndim > 0 and whole_file(array) is not None
    arr = array if mapped else np.ascontiguousarray(array)
    if arr.dtype == object:
        raise TypeError("object arrays cannot be stored")
    conn.execute(sa.delete(arrays).where(arrays.c.owner == owner, arrays.c.name == name))
    row_elems = int(np.prod(arr.shape[1:], dtype=np.int64))
    rows_per_chunk = max(1, CHUNK_BYTES // max(1, arr.itemsize * row_elems))
    n = arr.shape[0] if arr.ndim else 1
    flat = arr.reshape(n, row_elems)
    shape = json.dumps(list(arr.shape))
    dtype = arr.dtype.str
    starts = range(0, max(n, 1), rows_per_chunk)
    for chunk, start in enumerate(starts):
        stop = start + rows_per_chunk
        part = read_rows(arr, start, stop) if mapped else flat[start:stop]
        conn.execute(
            sa.insert(arrays).values(
                owner=owner, name=name, chunk=chunk, dtype=dtype, shape=shape, data=part.tobytes()
            )
        )


def get_array(conn: Connection, owner: str, name: str) -> np.ndarray | None:
    """The array stored under (owner, name), or None."""
    rows = conn.execute(
        sa.select(arrays.c.dtype, arrays.c.shape, arrays.c.data)
        .where(arrays.c.owner == owner, arrays.c.name == name)
        .order_by(arrays.c.chunk)
    )
    out: np.ndarray | None = None
    offset = 0
    for dtype, shape_text, data in rows:
        if out is None:
            out = np.empty(tuple(json.loads(shape_text)), dtype=np.dtype(dtype))
        flat = out.reshape(-1)
        part = np.frombuffer(data, dtype=out.dtype)
        flat[offset : offset + part.size] = part
        offset += part.size
    return out


def array_names(conn: Connection, owner: str) -> list[str]:
    rows = conn.execute(
        sa.select(arrays.c.name).where(arrays.c.owner == owner).distinct().order_by(arrays.c.name)
    )
    return [r[0] for r in rows]


def delete_arrays(conn: Connection, owner: str) -> None:
    conn.execute(sa.delete(arrays).where(arrays.c.owner == owner))

"""What the detail pane shows about one image: file facts, one pred_probs row, embeddings.

Reads touch only what is needed: one image row, one chunk of a chunked array, and embeddings only
when they are small enough for the app's memory budget.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa

from labelaudit.core.store.arrays import CHUNK_BYTES, get_array
from labelaudit.core.store.engine import Store
from labelaudit.core.store.scan_results import owner
from labelaudit.core.store.schema import arrays, images

EMBEDDINGS_MAX_BYTES = 128 * 1024 * 1024

_FACT_COLUMNS = (
    "path",
    "size",
    "width",
    "height",
    "mode",
    "format",
    "status",
    "problem",
    "problem_detail",
    "sha256",
    "split",
)


def image_sha256(store: Store, image_ids: Sequence[int]) -> dict[int, str | None]:
    """The stored sha256 of these images (the thumbnail cache's key), by image id."""
    with store.read() as conn:
        query = sa.select(images.c.id, images.c.sha256).where(images.c.id.in_(image_ids))
        return {int(i): sha for i, sha in conn.execute(query).all()}


def image_facts(store: Store, image_id: int) -> dict[str, Any] | None:
    """The stored facts of one image (path, bytes, pixels, format, status, ...), or None."""
    columns = [getattr(images.c, name) for name in _FACT_COLUMNS]
    with store.read() as conn:
        row = conn.execute(sa.select(*columns).where(images.c.id == image_id)).mappings().first()
    return dict(row) if row is not None else None


def _array_meta(
    store: Store, scan_id: int, name: str
) -> tuple[np.dtype[Any], tuple[int, ...]] | None:
    with store.read() as conn:
        row = conn.execute(
            sa.select(arrays.c.dtype, arrays.c.shape).where(
                arrays.c.owner == owner(scan_id), arrays.c.name == name, arrays.c.chunk == 0
            )
        ).first()
    if row is None:
        return None
    return np.dtype(row.dtype), tuple(json.loads(row.shape))


def scan_array_row(store: Store, scan_id: int, name: str, row: int) -> np.ndarray | None:
    """Row ``row`` of a stored scan array (e.g. one pred_probs row, (K,)), reading one chunk."""
    meta = _array_meta(store, scan_id, name)
    if meta is None:
        return None
    dtype, shape = meta
    if not shape or not 0 <= row < shape[0]:
        return None
    row_elems = int(np.prod(shape[1:], dtype=np.int64))
    rows_per_chunk = max(1, CHUNK_BYTES // max(1, dtype.itemsize * row_elems))  # as put_array
    chunk, within = divmod(row, rows_per_chunk)
    row_bytes = row_elems * dtype.itemsize
    # substr on a blob (SQLite) / bytea (PostgreSQL) reads one row, not a 32 MB chunk.
    piece = sa.func.substr(arrays.c.data, within * row_bytes + 1, row_bytes)
    with store.read() as conn:
        data = conn.execute(
            sa.select(piece).where(
                arrays.c.owner == owner(scan_id), arrays.c.name == name, arrays.c.chunk == chunk
            )
        ).scalar()
    if data is None or len(data) != row_bytes:
        return None
    return np.frombuffer(bytes(data), dtype=dtype, count=row_elems).reshape(shape[1:]).copy()


def scan_embeddings(
    store: Store, scan_id: int, *, max_bytes: int = EMBEDDINGS_MAX_BYTES
) -> np.ndarray | None:
    """float32 (N_scan, D) embeddings of a scan, or None when absent or too big for the app."""
    meta = _array_meta(store, scan_id, "embeddings")
    if meta is None:
        return None
    dtype, shape = meta
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > max_bytes:
        return None
    with store.read() as conn:
        return get_array(conn, owner(scan_id), "embeddings")

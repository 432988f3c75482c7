"""Loading :class:`ReviewData` from the store: images, the latest finished scan, review state.

At 1,000,000 images one Python object per image is too slow, so images come through a raw cursor
into a structured array and all paths arrive as one string joined by the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core import settings as settings_mod
from labelaudit.core.codes import ISSUE_BITS, ImageStatus
from labelaudit.core.store.engine import Store
from labelaudit.core.store.scan_results import LIGHT_ARRAYS, ScanResults, load_results
from labelaudit.core.store.schema import classes, images
from labelaudit.core.views.grid import BROKEN_BIT, NO_VOTE, PATH_SEP, ReviewData
from labelaudit.core.views.review_state import apply_review

_IMAGE_ROWS = (
    "SELECT id, COALESCE(class_id, -1), "
    "CASE status WHEN 'ok' THEN 0 WHEN 'broken' THEN 1 ELSE 2 END FROM images ORDER BY id"
)
_ROW_DTYPE = np.dtype([("id", "i8"), ("class_id", "i8"), ("status", "u1")])


def load_review_data(store: Store, *, annotator_id: int | None = None) -> ReviewData:
    """Every image of the project with the latest finished scan and the review state.

    Raw cursors and one aggregated path string keep this near one second per million images.
    """
    with store.read() as conn:
        review_issue_types = tuple(settings_mod.read(conn, "review_issue_types"))
        names = sorted(conn.execute(sa.select(classes.c.name)).scalars())
        class_ids = dict(conn.execute(sa.select(classes.c.id, classes.c.name)).all())
        cursor = conn.connection.cursor()
        try:
            cursor.execute(_IMAGE_ROWS)
            raw = np.fromiter(cast(Iterable[tuple[int, int, int]], cursor), dtype=_ROW_DTYPE)
        finally:
            cursor.close()
        blob, starts = _path_blob(conn, store.is_sqlite, raw["id"])
    lut = _index_lut(class_ids, names)
    labels = np.where(raw["class_id"] >= 0, lut[np.clip(raw["class_id"], 0, None)], -1)
    n = raw.shape[0]
    data = ReviewData(
        image_ids=np.ascontiguousarray(raw["id"]),
        labels=labels.astype(np.int64),
        status=np.ascontiguousarray(raw["status"]),
        class_names=names,
        path_blob=blob,
        path_starts=starts,
        suggested=np.full(n, -1, dtype=np.int64),
        suggested_prob=np.full(n, np.nan, dtype=np.float32),
        label_quality=np.full(n, np.nan, dtype=np.float32),
        issue_flags=np.where(raw["status"] == ImageStatus.BROKEN, BROKEN_BIT, 0).astype(np.uint8),
        flagged=np.zeros(n, dtype=bool),
        state=np.zeros(n, dtype=np.uint8),
        my_vote=np.full(n, NO_VOTE, dtype=np.int64),
        scan_row=np.full(n, -1, dtype=np.int64),
    )
    apply_scan(data, load_results(store, names=LIGHT_ARRAYS), review_issue_types=review_issue_types)
    data.review = apply_review(data, store, annotator_id=annotator_id)
    return data


def _index_lut(class_ids: dict[int, str], names: list[str]) -> np.ndarray:
    """int64: class id (database) -> class index (sorted names); -1 for unknown ids."""
    index_of = {name: i for i, name in enumerate(names)}
    lut = np.full(max(class_ids, default=0) + 1, -1, dtype=np.int64)
    for cid, name in class_ids.items():
        lut[cid] = index_of[name]
    return lut


def _path_blob(conn: Connection, is_sqlite: bool, ids: np.ndarray) -> tuple[str, np.ndarray]:
    """All paths in id order as one string (the database joins them: far faster than rows)."""
    if is_sqlite:
        query = "SELECT group_concat(path, char(31)) FROM (SELECT path FROM images ORDER BY id)"
    else:
        query = "SELECT string_agg(path, chr(31) ORDER BY id) FROM images"
    joined = conn.exec_driver_sql(query).scalar() or ""
    blob = joined + PATH_SEP if ids.size else ""
    starts = _starts(blob, ids.size)
    if starts is None or not _blob_matches(conn, blob, starts, ids):
        # A separator inside a name, or an engine that ignored the order: take the slow path.
        paths = conn.execute(sa.select(images.c.path).order_by(images.c.id)).scalars().all()
        blob = "".join(p.replace(PATH_SEP, " ") + PATH_SEP for p in paths)
        starts = _starts(blob, ids.size)
    assert starts is not None
    return blob, starts


def _starts(blob: str, n: int) -> np.ndarray | None:
    """int64 (n + 1,): where each path starts (code points), or None if the count is off."""
    if blob.isascii():
        raw = np.frombuffer(blob.encode("ascii"), dtype=np.uint8)
    else:
        raw = np.frombuffer(blob.encode("utf-32-le"), dtype=np.uint32)
    ends = np.flatnonzero(raw == ord(PATH_SEP))
    if ends.size != n:
        return None
    return np.concatenate(([0], ends + 1)).astype(np.int64)


def _blob_matches(conn: Connection, blob: str, starts: np.ndarray, ids: np.ndarray) -> bool:
    """Spot-check a few rows against the table: the aggregate must follow id order."""
    if ids.size == 0:
        return True
    picks = np.unique(np.linspace(0, ids.size - 1, num=min(ids.size, 5)).astype(np.int64))
    rows = dict(
        conn.execute(
            sa.select(images.c.id, images.c.path).where(images.c.id.in_(ids[picks].tolist()))
        ).all()
    )
    return all(rows.get(int(ids[i])) == blob[starts[i] : starts[i + 1] - 1] for i in picks)


def apply_scan(
    data: ReviewData, results: ScanResults | None, *, review_issue_types: tuple[str, ...] = ()
) -> None:
    """Fill the scan columns (suggestion, quality, issue flags, flagged) from a finished scan."""
    data.invalidate()
    if results is None:
        return
    scan_ids = results.arrays["image_ids"]
    if np.array_equal(scan_ids, data.image_ids):  # the usual case: no search needed
        rows = np.arange(data.n, dtype=np.int64)
    else:
        rows = data.row_of(scan_ids)
    hit = rows >= 0
    rows = rows[hit]
    data.scan_row[rows] = np.flatnonzero(hit)
    data.scan_class_names = list(results.class_names)
    index_of = {name: i for i, name in enumerate(data.class_names)}
    lut = np.array([index_of.get(name, -1) for name in results.class_names] + [-1], np.int64)
    suggested = results.arrays["suggested"][hit]
    data.suggested[rows] = lut[np.where(suggested >= 0, suggested, -1)]
    data.suggested_prob[rows] = results.arrays["suggested_prob"][hit]
    data.label_quality[rows] = results.arrays["label_quality"][hit]
    flags = results.arrays["issue_flags"][hit].astype(np.uint8)
    data.issue_flags[rows] |= flags
    # The consensus module's rule: flagged = an issue type the project reviews.
    review_bits = sum(ISSUE_BITS[t] for t in review_issue_types if t in ISSUE_BITS)
    data.flagged[rows] = (flags & review_bits) != 0
    data.scan_id = results.scan_id

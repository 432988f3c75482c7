"""Stored scan results: one ``scans`` row plus per-image arrays under owner ``scan:<id>``.

Arrays (N = images in the scan, K = classes, D = embedding size), each row aligned with
``image_ids``; columns of ``pred_probs`` follow ``class_names`` frozen at scan time:

=================  ==============  ===================================================
name               dtype, shape    meaning
=================  ==============  ===================================================
image_ids          int64 (N,)      the images, by database id
labels             int64 (N,)      given class index at scan time
pred_probs         float32 (N, K)  out-of-sample predicted probabilities
fold               int8 (N,)       fold that held the image out (-1: brought by the user)
suggested          int64 (N,)      most likely class (argmax of pred_probs)
suggested_prob     float32 (N,)    its probability
label_quality      float32 (N,)    cleanlab label-quality score (low = likely wrong)
is_label_issue     bool (N,)       cleanlab's find_label_issues verdict
issue_flags        uint8 (N,)      ``codes.Issue`` bits
outlier_score      float32 (N,)    optional; low = atypical
near_dup_group     int64 (N,)      optional; -1 = none
embeddings         float32 (N, D)  optional; from one network for all images
excluded           bool (N,)       optional; class too small to audit (kept out of flags)
=================  ==============  ===================================================

``near_dup_group`` joins exact copies (same sha256) with near-duplicates found in the embeddings.

Class-level arrays (K x K, rows = given class, columns = likely class), same owner:
``confident_joint`` int64 (cleanlab's calibrated confident joint, counts) and ``joint`` float64
(its normalised estimate of P(given, true)): estimates to report as numbers, not image sets.

While a scan runs, each finished fold is kept as ``fold<k>_probs`` float32 (held-out rows of fold k,
in index order) together with the ``image_ids`` and ``labels`` the scan started from; the fold
arrays are dropped in the transaction that publishes the results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.scan_summary import AuditSummary
from labelaudit.core.store.arrays import get_array, put_array
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import scans

REQUIRED = (
    "image_ids",
    "labels",
    "pred_probs",
    "suggested",
    "suggested_prob",
    "label_quality",
    "is_label_issue",
    "issue_flags",
)
OPTIONAL = ("fold", "outlier_score", "near_dup_group", "embeddings", "excluded")
CLASS_LEVEL = ("confident_joint", "joint")
# What the app needs to open a project fast (no N x K or N x D arrays).
LIGHT_ARRAYS = (
    "image_ids",
    "labels",
    "suggested",
    "suggested_prob",
    "label_quality",
    "is_label_issue",
    "issue_flags",
)


def owner(scan_id: int) -> str:
    return f"scan:{scan_id}"


@dataclass
class ScanResults:
    scan_id: int
    class_names: list[str]
    config: dict[str, Any]
    summary: AuditSummary  # {} for a scan that did not finish
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    kind: str = "cv"
    created_at: float = 0.0
    timings: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    @property
    def n(self) -> int:
        return int(self.arrays["image_ids"].shape[0])


def save_arrays(conn: Connection, scan_id: int, arrays: dict[str, np.ndarray]) -> None:
    """Store a scan's arrays inside the caller's transaction; checks alignment first."""
    missing = [name for name in REQUIRED if name not in arrays]
    if missing:
        raise ValueError(f"scan arrays missing: {missing}")
    n = arrays["image_ids"].shape[0]
    for name, arr in arrays.items():
        if arr.shape[0] != n:
            raise ValueError(f"array {name} has {arr.shape[0]} rows, expected {n}")
        put_array(conn, owner(scan_id), name, arr)


def save_class_arrays(conn: Connection, scan_id: int, arrays: dict[str, np.ndarray]) -> None:
    """Store the (K, K) class-level arrays inside the caller's transaction."""
    for name, arr in arrays.items():
        if name not in CLASS_LEVEL or arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise ValueError(f"class-level array {name} must be one of {CLASS_LEVEL}, K x K")
        put_array(conn, owner(scan_id), name, arr)


def latest_scan_id(conn: Connection) -> int | None:
    """The newest finished scan, or None."""
    return conn.execute(sa.select(sa.func.max(scans.c.id)).where(scans.c.status == "done")).scalar()


def load_results(
    store: Store, scan_id: int | None = None, *, names: tuple[str, ...] | None = None
) -> ScanResults | None:
    """A finished scan's results (the latest when ``scan_id`` is None), or None if there is none.

    ``names`` limits which arrays are read (``LIGHT_ARRAYS`` for the app); default: all stored.
    """
    with store.read() as conn:
        sid = scan_id if scan_id is not None else latest_scan_id(conn)
        if sid is None:
            return None
        row = conn.execute(sa.select(scans).where(scans.c.id == sid)).mappings().first()
        if row is None or row["status"] != "done":
            return None
        wanted = names if names is not None else REQUIRED + OPTIONAL + CLASS_LEVEL
        loaded = {}
        for name in wanted:
            arr = get_array(conn, owner(sid), name)
            if arr is not None:
                loaded[name] = arr
    return ScanResults(
        scan_id=int(sid),
        class_names=json.loads(row["class_names"]),
        config=json.loads(row["config"]),
        summary=cast(AuditSummary, json.loads(row["summary"] or "{}")),
        arrays=loaded,
        kind=row["kind"],
        created_at=row["created_at"],
        timings=json.loads(row["timings"] or "{}"),
    )

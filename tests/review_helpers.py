"""Helpers for the review/consensus tests: a synthetic finished scan, quick lookups."""

from __future__ import annotations

import json
import time

import numpy as np
import sqlalchemy as sa

from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.project import Project
from labelaudit.core.store.scan_results import save_arrays
from labelaudit.core.store.schema import scans


def store_scan(
    project: Project,
    *,
    flagged: np.ndarray,
    label_quality: np.ndarray | None = None,
    pred_probs: np.ndarray | None = None,
    outlier: np.ndarray | None = None,
) -> int:
    """A finished scan over every image (catalog order): flags, scores and pred_probs given."""
    cat = load_catalog(project.store)
    n, k = len(cat), len(cat.class_names)
    if pred_probs is None:
        pred_probs = np.full((n, k), 1.0 / k, dtype=np.float32)
        pred_probs[np.arange(n), np.maximum(cat.labels, 0)] += 0.5
        pred_probs /= pred_probs.sum(axis=1, keepdims=True)
    quality = (
        label_quality
        if label_quality is not None
        else pred_probs[np.arange(n), np.maximum(cat.labels, 0)]
    )
    flags = flagged.astype(np.uint8) * 1
    if outlier is not None:
        flags |= outlier.astype(np.uint8) * 4
    arrays = {
        "image_ids": cat.image_ids,
        "labels": cat.labels,
        "pred_probs": pred_probs.astype(np.float32),
        "suggested": pred_probs.argmax(axis=1).astype(np.int64),
        "suggested_prob": pred_probs.max(axis=1).astype(np.float32),
        "label_quality": np.asarray(quality, dtype=np.float32),
        "is_label_issue": flagged.astype(bool),
        "issue_flags": flags,
    }

    return project.store.write(
        lambda conn: insert_done_scan(conn, class_names=cat.class_names, n=n, arrays=arrays)
    )


def insert_done_scan(
    conn: sa.Connection,
    *,
    class_names: list[str],
    n: int,
    arrays: dict[str, np.ndarray],
    summary: str = "{}",
) -> int:
    """Insert a finished ``scans`` row and store its arrays; returns the scan id."""
    scan_id = conn.execute(
        sa.insert(scans).values(
            created_at=time.time(),
            finished_at=time.time(),
            status="done",
            kind="pred_probs",
            config="{}",
            versions="{}",
            timings="{}",
            summary=summary,
            class_names=json.dumps(class_names),
            n_images=n,
            folds_done=0,
        )
    ).inserted_primary_key[0]
    save_arrays(conn, int(scan_id), arrays)
    return int(scan_id)


def ids_by_path(project: Project) -> dict[str, int]:
    cat = load_catalog(project.store)
    return {p: int(i) for p, i in zip(cat.paths or [], cat.image_ids, strict=True)}

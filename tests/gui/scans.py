"""Synthetic scan results for app tests: a real ``scans`` row and real stored arrays."""

from __future__ import annotations

import json

import numpy as np
import sqlalchemy as sa

from labelaudit.core.codes import Issue
from labelaudit.core.consensus.votes import cast_vote
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.project import Project
from labelaudit.core.store.auditlog import log_action
from labelaudit.core.store.engine import Store
from review_helpers import insert_done_scan


def store_scan(
    project: Project,
    *,
    suggested: dict[str, str] | None = None,
    flagged: set[str] | None = None,
    seed: int = 0,
    embeddings: bool = False,
) -> int:
    """Store a finished scan: every valid image predicted as its given class, except the paths in
    ``suggested`` (path -> class name); ``flagged`` paths (default: those) are label issues.
    Label quality increases with the image's order, so the ordering is known."""
    catalog = load_catalog(project.store, valid_only=True)
    names = catalog.class_names
    k, n = len(names), len(catalog)
    suggested = suggested or {}
    flagged = set(suggested) if flagged is None else flagged
    paths = catalog.paths or []
    best = np.array(
        [
            names.index(suggested[p]) if p in suggested else int(c)
            for p, c in zip(paths, catalog.labels)
        ],
        dtype=np.int64,
    )
    rng = np.random.default_rng(seed)
    probs = rng.random((n, k)).astype(np.float32) * 0.1
    probs[np.arange(n), best] += 1.0
    probs /= probs.sum(axis=1, keepdims=True)
    is_issue = np.array([p in flagged for p in paths], dtype=bool)
    arrays = {
        "image_ids": catalog.image_ids,
        "labels": catalog.labels,
        "pred_probs": probs,
        "suggested": best,
        "suggested_prob": probs[np.arange(n), best],
        "label_quality": np.linspace(0.05, 0.95, n).astype(np.float32),
        "is_label_issue": is_issue,
        "issue_flags": np.where(is_issue, Issue.LABEL, 0).astype(np.uint8),
    }
    if embeddings:
        arrays["embeddings"] = rng.random((n, 8)).astype(np.float32)

    def write(conn: sa.Connection) -> int:
        scan_id = insert_done_scan(
            conn,
            class_names=names,
            n=n,
            arrays=arrays,
            summary=json.dumps({"health_score": 0.9, "accuracy": 0.8}),
        )
        log_action(conn, "scan", target=f"scan:{scan_id}")  # as a real scan does
        return int(scan_id)

    return project.store.write(write)


def vote_pairs(store: Store, image_ids: np.ndarray, votes: dict[int, tuple[str, str]]) -> None:
    """``ann`` and ``bob`` vote on each row: ``votes`` maps a row to their two decisions."""
    for row, decisions in votes.items():
        for who, decision in zip(("ann", "bob"), decisions, strict=True):
            cast_vote(
                store,
                annotator=who,
                image_id=int(image_ids[row]),
                decision=decision,
                suggestion_shown=True,
            )


def vote_tie(store: Store, image_id: int) -> None:
    """Two annotators tie on an image (ann: dog, bob: owl), so the lead decides."""
    for who, decision in (("ann", "dog"), ("bob", "owl")):
        cast_vote(
            store,
            annotator=who,
            image_id=image_id,
            decision=decision,
            suggestion_shown=True,
        )

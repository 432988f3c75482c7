"""What the scan and the reviewers say, gathered from the store and aligned with the catalog.

The review outcome (lead decision first, then the consensus) comes from ``consensus.outcome``;
the scan adds the suggestion's probability and near-duplicate groups; the decision and vote rows
say who decided, for CHANGES.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa

from labelaudit.core.consensus.decisions import LABEL
from labelaudit.core.consensus.outcome import build_review, outcomes_from
from labelaudit.core.consensus.states import Review
from labelaudit.core.consensus.tables import KIND_CODES, KIND_NAMES
from labelaudit.core.consensus.votes_csv import export_rows
from labelaudit.core.export.decision_path import DecisionPath, decision_path
from labelaudit.core.export.labels import ReviewFacts
from labelaudit.core.store.engine import Store
from labelaudit.core.store.scan_results import load_results
from labelaudit.core.store.schema import decisions, review_requests, scans

SCAN_EXTRAS = ("image_ids", "suggested_prob", "near_dup_group")
LEAD_REQUEST = "lead"  # review_requests.reason of an image a lead put into review


@dataclass(frozen=True)
class ReviewContext:
    """Review facts for the catalog rows, plus what provenance and CHANGES.md report."""

    facts: ReviewFacts
    near_dup_group: np.ndarray  # int64 (N,), -1 = none
    method_requested: str
    method_used: str
    notes: list[str]
    scan: dict[str, Any] | None  # id, kind, config, versions, class names, time
    settings: dict[str, Any]
    who: dict[int, str] = field(default_factory=dict)  # catalog row -> who decided, and why
    path: DecisionPath | None = None  # votes.csv and decisions.csv (decision_path.py)
    lead_notes: dict[int, str] = field(default_factory=dict)  # catalog row -> lead's note


def align(ids: np.ndarray, source_ids: np.ndarray, values: np.ndarray, fill: Any) -> np.ndarray:
    """``values`` keyed by ``source_ids`` reordered onto ``ids``; ``fill`` where absent."""
    out = np.full((ids.shape[0], *values.shape[1:]), fill, dtype=np.result_type(values, fill))
    if source_ids.size == 0 or ids.size == 0:
        return out
    order = np.argsort(source_ids, kind="stable")
    pos = np.minimum(np.searchsorted(source_ids[order], ids), source_ids.size - 1)
    hit = source_ids[order][pos] == ids
    out[hit] = values[order][pos[hit]]
    return out


def gather_review(store: Store, image_ids: np.ndarray, *, method: str) -> ReviewContext:
    """Everything review decided about ``image_ids`` (int64 (N,), the catalog's order)."""
    review = build_review(store, method=method, with_paths=False)
    outcome = outcomes_from(review)
    data = review.data
    ids = outcome.image_ids
    extras = load_results(store, names=SCAN_EXTRAS) if data.scan_id is not None else None
    suggested_prob = np.full(ids.shape[0], np.nan, dtype=np.float32)
    near_dup = np.full(image_ids.shape[0], -1, dtype=np.int64)
    if extras is not None and extras.scan_id == data.scan_id:
        if "suggested_prob" in extras.arrays:
            prob = extras.suggested_prob.astype(np.float32)
            suggested_prob = align(ids, extras.image_ids, prob, np.float32(np.nan))
        if "near_dup_group" in extras.arrays:
            near_dup = align(image_ids, extras.image_ids, extras.near_dup_group, -1)
    facts = ReviewFacts(
        flagged=data.flagged,
        suggested=data.suggested,
        suggested_prob=suggested_prob,
        label_quality=data.label_quality,
        state=outcome.state,
        decided=outcome.final_class,
        decided_by=outcome.source,
        dropped=outcome.dropped,
        n_votes=outcome.n_votes,
        consensus_quality=outcome.consensus_quality.astype(np.float32),
        lead_requested=np.isin(ids, _lead_requested_ids(store)),
    )
    return ReviewContext(
        facts=_facts_on(image_ids, ids, facts),
        near_dup_group=near_dup,
        method_requested=method,
        method_used=outcome.method,
        notes=list(outcome.notes),
        scan=_scan_info(store, data.scan_id),
        settings=dict(data.settings),
        who=_who_decided(store, review, image_ids),
        path=decision_path(review, image_ids, export_rows(store).rows),
        lead_notes=_notes_by_row(store, review, image_ids),
    )


def _notes_by_row(store: Store, review: Review, image_ids: np.ndarray) -> dict[int, str]:
    """Catalog row -> the note of its current lead decision ("accepted consensus", ...)."""
    decided = review.image_ids[review.lead_ids >= 0]
    notes = _lead_notes(store, decided)
    return {r: notes[int(i)] for r, i in enumerate(image_ids) if int(i) in notes}


def _facts_on(image_ids: np.ndarray, ids: np.ndarray, facts: ReviewFacts) -> ReviewFacts:
    """The facts re-keyed onto ``image_ids`` (a concurrent import may have added images)."""
    if ids.shape == image_ids.shape and np.array_equal(ids, image_ids):
        return facts
    empty = ReviewFacts.empty(image_ids.shape[0])
    return ReviewFacts(
        **{
            name: align(image_ids, ids, getattr(facts, name), getattr(empty, name)[0])
            for name in ReviewFacts.__dataclass_fields__
        }
    )


def _scan_info(store: Store, scan_id: int | None) -> dict[str, Any] | None:
    if scan_id is None:
        return None
    with store.read() as conn:
        row = conn.execute(sa.select(scans).where(scans.c.id == scan_id)).mappings().first()
    if row is None:
        return None
    return {
        "id": int(row["id"]),
        "kind": row["kind"],
        "created_at": row["created_at"],
        "finished_at": row["finished_at"],
        "config": json.loads(row["config"] or "{}"),
        "versions": json.loads(row["versions"] or "{}"),
        "class_names": json.loads(row["class_names"] or "[]"),
        "n_images": row["n_images"],
    }


def _who_decided(store: Store, review: Review, image_ids: np.ndarray) -> dict[int, str]:
    """Catalog row -> 'lead NAME (note)' or 'consensus of A: x, B: y' for decided images."""
    data = review.data
    names = {a.id: a.name for a in data.annotators}
    classes = data.catalog.class_names
    row_of = {int(i): r for r, i in enumerate(image_ids)}
    out: dict[int, str] = {}
    lead_rows = np.flatnonzero(review.lead_ids >= 0)
    notes = _lead_notes(store, data.catalog.image_ids[lead_rows])
    for pos in lead_rows:
        image_id = int(data.catalog.image_ids[pos])
        if image_id in row_of:
            note = notes.get(image_id)
            text = f"lead {names.get(int(review.lead_ids[pos]), '?')}"
            out[row_of[image_id]] = f"{text} ({note})" if note else text
    votes = data.votes
    by_image: dict[int, list[str]] = {}
    label_code = KIND_CODES[LABEL]
    for a, i, kind, lab in zip(votes.annotator_ids, votes.image_ids, votes.kind, votes.labels):
        if kind == label_code:
            what = classes[lab] if 0 <= lab < len(classes) else "?"
        else:
            what = KIND_NAMES.get(int(kind), "?")
        by_image.setdefault(int(i), []).append(f"{names.get(int(a), '?')}: {what}")
    for image_id, cast in by_image.items():
        row = row_of.get(image_id)
        if row is not None and row not in out:
            out[row] = "votes " + ", ".join(cast)
    return out


def _lead_requested_ids(store: Store) -> np.ndarray:
    """int64: ids of the images a lead put into review by hand."""
    with store.read() as conn:
        found = conn.execute(
            sa.select(review_requests.c.image_id)
            .where(review_requests.c.reason == LEAD_REQUEST)
            .distinct()
        ).scalars()
        return np.fromiter((int(i) for i in found), dtype=np.int64)


def _lead_notes(store: Store, image_ids: np.ndarray) -> dict[int, str]:
    """The note of each image's latest non-stale lead decision, where it has one."""
    if image_ids.size == 0:
        return {}
    wanted = {int(i) for i in image_ids}
    with store.read() as conn:
        rows = conn.execute(
            sa.select(decisions.c.image_id, decisions.c.note)
            .where(decisions.c.stale.is_(False), decisions.c.note.isnot(None))
            .order_by(decisions.c.seq)
        ).all()
    return {int(i): str(note) for i, note in rows if int(i) in wanted and note}

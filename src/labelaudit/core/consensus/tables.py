"""Votes and lead decisions read into numpy arrays (one row per current record).

Votes are append-only. An annotator's *current* vote on an image is their latest vote (by ``seq``,
the global insertion order) that is neither retracted nor stale. A lead decision is current when it
is the latest non-stale, non-withdrawn decision on its image. ``V`` = number of current votes,
``D`` = number of images with a current decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.codes import VoteKind
from labelaudit.core.consensus.decisions import DROP, LABEL, UNSURE
from labelaudit.core.store.schema import decisions, votes

KIND_CODES = {LABEL: int(VoteKind.LABEL), DROP: int(VoteKind.DROP), UNSURE: int(VoteKind.UNSURE)}
KIND_NAMES = {v: k for k, v in KIND_CODES.items()}
RETRACT = "retract"
WITHDRAW = "withdraw"


@dataclass(frozen=True)
class VoteRows:
    """Current votes. ``labels`` is a class index (-1 for drop and unsure)."""

    seq: np.ndarray  # int64 (V,)
    annotator_ids: np.ndarray  # int64 (V,)
    image_ids: np.ndarray  # int64 (V,)
    kind: np.ndarray  # uint8 (V,), KIND_CODES
    labels: np.ndarray  # int64 (V,)
    is_keep: np.ndarray  # bool (V,)
    suggestion_shown: np.ndarray  # bool (V,)
    stale_image_ids: np.ndarray  # int64, unique: images holding stale (not retracted) votes

    def __len__(self) -> int:
        return int(self.seq.shape[0])


@dataclass(frozen=True)
class DecisionRows:
    """The current lead decision per image. ``labels`` is -1 for drop."""

    seq: np.ndarray  # int64 (D,)
    lead_ids: np.ndarray  # int64 (D,)
    image_ids: np.ndarray  # int64 (D,), unique
    is_drop: np.ndarray  # bool (D,)
    labels: np.ndarray  # int64 (D,)
    stale_image_ids: np.ndarray  # int64, unique: images holding stale decisions

    def __len__(self) -> int:
        return int(self.seq.shape[0])


def _latest_per_key(keys: list[np.ndarray], seq: np.ndarray) -> np.ndarray:
    """Indices of the row with the highest ``seq`` for each distinct key tuple."""
    if seq.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((seq, *reversed(keys)))
    sorted_keys = [k[order] for k in keys]
    last = np.ones(seq.size, dtype=bool)
    changes = np.zeros(seq.size - 1, dtype=bool)
    for k in sorted_keys:
        changes |= k[1:] != k[:-1]
    last[:-1] = changes
    return order[last]


def _class_index(class_ids: list[int | None], class_index_of: Mapping[int, int]) -> np.ndarray:
    return np.fromiter(
        (class_index_of[c] if c is not None else -1 for c in class_ids),
        dtype=np.int64,
        count=len(class_ids),
    )


def load_votes(conn: Connection, class_index_of: Mapping[int, int]) -> VoteRows:
    """Current votes, in ``seq`` order. ``class_index_of`` maps classes.id to class index."""
    undone = (
        sa.select(votes.c.retracts)
        .where(votes.c.kind == RETRACT, votes.c.retracts.isnot(None))
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(
            votes.c.seq,
            votes.c.annotator_id,
            votes.c.image_id,
            votes.c.kind,
            votes.c.class_id,
            votes.c.is_keep,
            votes.c.suggestion_shown,
            votes.c.stale,
        )
        .where(votes.c.kind != RETRACT, votes.c.id.not_in(undone))
        .order_by(votes.c.seq)
    ).all()
    n = len(rows)
    seq = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    annotator_ids = np.fromiter((r[1] for r in rows), dtype=np.int64, count=n)
    image_ids = np.fromiter((r[2] for r in rows), dtype=np.int64, count=n)
    kind = np.fromiter((KIND_CODES[r[3]] for r in rows), dtype=np.uint8, count=n)
    labels = _class_index([r[4] for r in rows], class_index_of)
    is_keep = np.fromiter((bool(r[5]) for r in rows), dtype=bool, count=n)
    shown = np.fromiter((bool(r[6]) for r in rows), dtype=bool, count=n)
    stale = np.fromiter((bool(r[7]) for r in rows), dtype=bool, count=n)
    fresh = np.flatnonzero(~stale)
    keep = np.sort(fresh[_latest_per_key([annotator_ids[fresh], image_ids[fresh]], seq[fresh])])
    return VoteRows(
        seq=seq[keep],
        annotator_ids=annotator_ids[keep],
        image_ids=image_ids[keep],
        kind=kind[keep],
        labels=labels[keep],
        is_keep=is_keep[keep],
        suggestion_shown=shown[keep],
        stale_image_ids=np.unique(image_ids[stale]),
    )


def load_decisions(conn: Connection, class_index_of: Mapping[int, int]) -> DecisionRows:
    """The current lead decision of every image that has one."""
    withdrawn = (
        sa.select(decisions.c.supersedes)
        .where(decisions.c.kind == WITHDRAW, decisions.c.supersedes.isnot(None))
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(
            decisions.c.seq,
            decisions.c.lead_id,
            decisions.c.image_id,
            decisions.c.kind,
            decisions.c.class_id,
            decisions.c.stale,
        )
        .where(decisions.c.kind != WITHDRAW, decisions.c.id.not_in(withdrawn))
        .order_by(decisions.c.seq)
    ).all()
    n = len(rows)
    seq = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    lead_ids = np.fromiter((r[1] for r in rows), dtype=np.int64, count=n)
    image_ids = np.fromiter((r[2] for r in rows), dtype=np.int64, count=n)
    is_drop = np.fromiter((r[3] == DROP for r in rows), dtype=bool, count=n)
    labels = _class_index([r[4] for r in rows], class_index_of)
    stale = np.fromiter((bool(r[5]) for r in rows), dtype=bool, count=n)
    fresh = np.flatnonzero(~stale)
    keep = np.sort(fresh[_latest_per_key([image_ids[fresh]], seq[fresh])])
    return DecisionRows(
        seq=seq[keep],
        lead_ids=lead_ids[keep],
        image_ids=image_ids[keep],
        is_drop=is_drop[keep],
        labels=labels[keep],
        stale_image_ids=np.unique(image_ids[stale]),
    )

"""Review state for the grid: each image's state and the working person's current vote.

The states come from ``consensus.states.compute_review`` (the same rules as the CLI's queue and
the export), run with the project's default method (CROWDLAB with a scan: cleanlab is imported
once two votes meet on an image) over only the images in review: flagged, requested, voted on or
decided. At 1,000,000 images that subset is small, while every other image is simply
``unflagged`` (or ``broken``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from labelaudit.core import settings as settings_mod
from labelaudit.core.codes import ImageStatus
from labelaudit.core.consensus.annotators import Annotator
from labelaudit.core.consensus.outcome import model_probs
from labelaudit.core.consensus.review import ReviewData as ConsensusInput
from labelaudit.core.consensus.states import Review, compute_review
from labelaudit.core.consensus.tables import (
    KIND_CODES,
    DecisionRows,
    VoteRows,
    load_decisions,
    load_votes,
)
from labelaudit.core.dataset.catalog import Catalog
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import annotators, classes, review_requests
from labelaudit.core.views.grid import DROP_VOTE, NO_VOTE, STATE_CODE, UNSURE_VOTE, ReviewData


def apply_review(data: ReviewData, store: Store, *, annotator_id: int | None) -> Review:
    """Fill ``state`` and ``my_vote`` in place; returns the consensus review of the subset."""
    source = _consensus_input(store, data)
    # the project's default method and evidence, as the CLI and the export (rules.py)
    review = compute_review(source, method=None, pred_probs=model_probs(store, source, None))
    data.state[:] = STATE_CODE["unflagged"]
    data.state[data.status != ImageStatus.OK] = STATE_CODE["broken"]
    rows = data.row_of(source.catalog.image_ids)
    for name, code in STATE_CODE.items():
        data.state[rows[review.state == name]] = code
    data.my_vote[:] = NO_VOTE
    if annotator_id is not None:
        votes = source.votes
        mine = votes.annotator_ids == annotator_id
        codes = np.where(
            votes.kind == KIND_CODES["drop"],
            DROP_VOTE,
            np.where(votes.kind == KIND_CODES["unsure"], UNSURE_VOTE, votes.labels),
        )
        vote_rows = data.row_of(votes.image_ids[mine])
        data.my_vote[vote_rows[vote_rows >= 0]] = codes[mine][vote_rows >= 0]
    return review


def _consensus_input(store: Store, data: ReviewData) -> ConsensusInput:
    """The consensus module's input for the images in review only (a sub-catalog)."""
    tables = _review_tables(store, data.class_names)
    rows = _rows_in_review(data, tables)
    n = rows.size
    catalog = Catalog(
        image_ids=data.image_ids[rows],
        labels=data.labels[rows],
        status=data.status[rows],
        dup_group=np.full(n, -1, dtype=np.int64),
        width=np.zeros(n, dtype=np.int32),
        height=np.zeros(n, dtype=np.int32),
        class_names=data.class_names,
        paths=None,
        sha256=None,
        splits=None,
    )
    return ConsensusInput(
        catalog=catalog,
        votes=tables.votes,
        decisions=tables.decisions,
        requested=np.isin(catalog.image_ids, tables.requested_ids),
        flagged=data.flagged[rows],
        label_quality=data.label_quality[rows],
        suggested=data.suggested[rows],
        scan_id=data.scan_id,
        settings=tables.settings,
        annotators=tables.people,
    )


@dataclass(frozen=True)
class _Tables:
    votes: VoteRows
    decisions: DecisionRows
    requested_ids: np.ndarray  # int64, images put into review
    people: list[Annotator]
    settings: dict[str, Any]


def _review_tables(store: Store, class_names: list[str]) -> _Tables:
    """Current votes and decisions, review requests, annotators and settings, in one read."""
    index_of = {name: i for i, name in enumerate(class_names)}
    with store.read() as conn:
        class_index_of = {
            int(cid): index_of.get(name, -1)
            for cid, name in conn.execute(sa.select(classes.c.id, classes.c.name))
        }
        requested = conn.execute(sa.select(review_requests.c.image_id).distinct()).scalars()
        return _Tables(
            votes=load_votes(conn, class_index_of),
            decisions=load_decisions(conn, class_index_of),
            requested_ids=np.fromiter(requested, np.int64),
            people=[
                Annotator(int(r.id), r.name, r.role)
                for r in conn.execute(sa.select(annotators).order_by(annotators.c.id))
            ],
            settings=settings_mod.read_all(conn),
        )


def _rows_in_review(data: ReviewData, tables: _Tables) -> np.ndarray:
    """Rows flagged, requested, voted on or decided (stale records included), ascending."""
    touched = np.concatenate(
        [
            tables.requested_ids,
            tables.votes.image_ids,
            tables.votes.stale_image_ids,
            tables.decisions.image_ids,
            tables.decisions.stale_image_ids,
        ]
    )
    subset = data.flagged.copy()
    touched_rows = data.row_of(np.unique(touched))
    subset[touched_rows[touched_rows >= 0]] = True
    return np.flatnonzero(subset)

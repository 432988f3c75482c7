"""Image states, consensus over the whole project, and the annotators' and the lead's queues.

See ``review`` for the state definitions. Everything here is numpy over all images at once.

An image that still lacks votes goes to the lead ("no annotator left") once it has a current vote
and every registered non-lead annotator has voted on it (``unsure`` included): nobody is left who
could bring it to ``votes_required``. Its reason is "tie" instead when its votes are tied, so an
empty consensus label always comes with the reason "tie". A lead's vote counts toward
``votes_required`` like any vote, but leads are not counted as annotators still to vote, since
a lead can resolve directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from labelaudit.core import issues_types as it
from labelaudit.core.consensus.decisions import DROP_CODE, LABEL, NO_DECISION
from labelaudit.core.consensus.methods import (
    NO_ANNOTATOR_LEFT,
    REASON_DTYPE,
    TIE,
    ConsensusResult,
    consensus,
)
from labelaudit.core.consensus.review import STATE_DTYPE, ReviewData, vote_matrix
from labelaudit.core.consensus.tables import KIND_CODES
from labelaudit.core.dataset.catalog import STATUS_CODES


@dataclass(frozen=True)
class Review:
    """States and consensus of every image, aligned on ``data.catalog.image_ids`` (N,)."""

    data: ReviewData
    result: ConsensusResult  # items = catalog positions; annotators = data.annotators
    state: np.ndarray  # <U11 (N,), issues_types state names
    in_review: np.ndarray  # bool (N,)
    lead_decision: np.ndarray  # int64 (N,): class index, DROP_CODE or NO_DECISION
    lead_ids: np.ndarray  # int64 (N,): the deciding lead's annotator id, -1 where none
    lead_reason: np.ndarray  # REASON_DTYPE (N,): why a needs_lead image waits, else ""
    # (methods.LEAD_RULES or "no annotator left")

    @property
    def image_ids(self) -> np.ndarray:
        return self.data.catalog.image_ids

    def count(self, state: str) -> int:
        return int((self.state == state).sum())

    def state_counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in it.STATES}


def _lead_decisions(data: ReviewData) -> tuple[np.ndarray, np.ndarray]:
    n = len(data.catalog)
    decision = np.full(n, NO_DECISION, dtype=np.int64)
    lead_ids = np.full(n, -1, dtype=np.int64)
    d = data.decisions
    pos, found = data.image_index(d.image_ids)
    decision[pos[found]] = np.where(d.is_drop, DROP_CODE, d.labels)[found]
    lead_ids[pos[found]] = d.lead_ids[found]
    return decision, lead_ids


def _images_with(data: ReviewData, image_ids: np.ndarray) -> np.ndarray:
    mask = np.zeros(len(data.catalog), dtype=bool)
    pos, found = data.image_index(image_ids)
    mask[pos[found]] = True
    return mask


def _annotators_left(data: ReviewData) -> np.ndarray:
    """int64 (N,): registered non-lead annotators without a current vote on each image."""
    non_lead = np.array([a.id for a in data.annotators if not a.is_lead], dtype=np.int64)
    v = data.votes
    pos, found = data.image_index(v.image_ids)
    voted = np.zeros(len(data.catalog), dtype=np.int64)
    np.add.at(voted, pos[found & np.isin(v.annotator_ids, non_lead)], 1)
    return non_lead.size - voted


def _stale(data: ReviewData) -> np.ndarray:
    """bool (N,): images holding stale votes or a stale lead decision."""
    votes, decisions = data.votes.stale_image_ids, data.decisions.stale_image_ids
    return _images_with(data, votes) | _images_with(data, decisions)


def in_review_mask(data: ReviewData) -> np.ndarray:
    """bool (N,): flagged by the latest scan, put into review, voted on, or gone stale."""
    has_vote = _images_with(data, data.votes.image_ids)
    return data.flagged | data.requested | has_vote | _stale(data)


def _suggestion_note(data: ReviewData, use: np.ndarray) -> str | None:
    """CROWDLAB counts the model once through pred_probs; a vote cast with the model's
    suggestion shown may copy it and count it again."""
    v = data.votes
    class_votes = use & (v.kind == KIND_CODES[LABEL])
    shown = int((class_votes & v.suggestion_shown).sum())
    if not shown:
        return None
    return (
        f"{shown} of {int(class_votes.sum())} votes were cast with the model's suggestion shown: "
        "CROWDLAB counts the model twice for them; consider show_suggestion off or "
        "majority/dawid-skene"
    )


def compute_review(
    data: ReviewData, *, method: str = "majority", pred_probs: np.ndarray | None = None
) -> Review:
    """Run ``method`` over the current votes and derive every image's state."""
    matrix, use = vote_matrix(data)
    settings = data.settings
    result = consensus(
        matrix,
        method=method,
        pred_probs=pred_probs,
        min_agreement=Fraction(settings["min_agreement"]),
        min_quality=float(settings["min_consensus_quality"]),
    )
    if result.method == "crowdlab" and (note := _suggestion_note(data, use)):
        result.notes.append(note)
    lead_decision, lead_ids = _lead_decisions(data)
    has_vote = _images_with(data, data.votes.image_ids)  # any current vote, unsure included
    stale = _stale(data)
    in_review = in_review_mask(data)
    enough = result.n_votes >= int(settings["votes_required"])
    state = np.full(len(data.catalog), it.UNFLAGGED, dtype=STATE_DTYPE)
    state[in_review] = it.NEEDS_VOTES
    state[in_review & stale & ~has_vote & (lead_decision == NO_DECISION)] = it.STALE
    with_consensus = in_review & enough
    state[with_consensus & result.needs_lead] = it.NEEDS_LEAD
    stuck = in_review & ~enough & has_vote & (_annotators_left(data) <= 0)
    state[stuck] = it.NEEDS_LEAD
    agreed = with_consensus & ~result.needs_lead
    state[agreed & (result.decision >= 0)] = it.AGREED
    state[agreed & (result.decision == DROP_CODE)] = it.DROPPED
    state[lead_decision >= 0] = it.RESOLVED
    state[lead_decision == DROP_CODE] = it.DROPPED
    state[data.catalog.status != STATUS_CODES["ok"]] = it.BROKEN
    reason = np.where(state == it.NEEDS_LEAD, result.lead_reason, "").astype(REASON_DTYPE)
    reason[stuck & (state == it.NEEDS_LEAD) & (result.lead_reason != TIE)] = NO_ANNOTATOR_LEFT
    return Review(data, result, state, in_review, lead_decision, lead_ids, reason)


def _doubt_order(review: Review, mask: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Image ids under ``mask`` sorted by ``key`` ascending (nan first), then by image id."""
    idx = np.flatnonzero(mask)
    k = np.nan_to_num(key[idx].astype(np.float64), nan=-np.inf)
    order = np.lexsort((review.image_ids[idx], k))
    return review.image_ids[idx[order]]


def voted_by(review: Review, annotator_id: int) -> np.ndarray:
    """bool (N,): images on which this annotator has a current vote (unsure included)."""
    v = review.data.votes
    return _images_with(review.data, v.image_ids[v.annotator_ids == annotator_id])


def annotator_queue(review: Review, annotator_id: int) -> np.ndarray:
    """Image ids that still need votes and that this annotator has not voted on, most doubtful
    first (ascending label quality; images put into review by hand, with no score, lead)."""
    waiting = np.isin(review.state, (it.NEEDS_VOTES, it.STALE)) & ~voted_by(review, annotator_id)
    return _doubt_order(review, waiting, review.data.label_quality)


def lead_queue(review: Review) -> np.ndarray:
    """Image ids waiting for a lead, lowest consensus quality first."""
    return _doubt_order(review, review.state == it.NEEDS_LEAD, review.result.quality)


def visible_to(review: Review, viewer_id: int | None) -> np.ndarray:
    """bool (N,): images whose votes ``viewer_id`` may see. Blind review (the ``blind``
    setting) hides other people's votes from a non-lead until they voted on the image."""
    n = len(review.data.catalog)
    if viewer_id is None or not review.data.settings.get("blind", True):
        return np.ones(n, dtype=bool)
    viewer = next((a for a in review.data.annotators if a.id == viewer_id), None)
    if viewer is not None and viewer.is_lead:
        return np.ones(n, dtype=bool)
    return voted_by(review, viewer_id)

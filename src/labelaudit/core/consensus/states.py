"""Image states and consensus over the whole project (the review rules are in ``rules``).

See ``review`` for the state definitions. Everything here is numpy over all images at once.

``compute_review`` runs the consensus method, estimates for every image the probability that its
consensus label is right (``evidence``), and routes it with ``rules.route``: settled (``agreed``
or ``dropped``) when that probability reaches ``target_accuracy``; ``needs_votes`` with the reason
"one more vote" while a registered non-lead annotator has not voted on it; else ``needs_lead``
with the reason ("tie", "below target accuracy", "no annotator left", or a hard rule: "drop vs
relabel", "low agreement" / "low consensus quality" when those overrides are set).
``votes_required`` is capped to the team (``rules.votes_needed``). A lead's vote counts toward
it like any vote, but leads are not counted as annotators still to vote, since a lead can resolve
directly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np

from labelaudit.core import issues_types as it
from labelaudit.core.codes import ImageStatus, VoteKind
from labelaudit.core.consensus import rules
from labelaudit.core.consensus.decisions import DROP_CODE, NO_DECISION
from labelaudit.core.consensus.evidence import Calibration, calibration, estimate
from labelaudit.core.consensus.matrix import VoteMatrix
from labelaudit.core.consensus.methods import (
    DROP_VS_RELABEL,
    LOW_AGREEMENT,
    LOW_QUALITY,
    TIE,
    ConsensusResult,
    choose_method,
    consensus,
)
from labelaudit.core.consensus.review import STATE_DTYPE, ReviewData, vote_matrix

# The queues and the visibility rule live in ``rules``; re-exported for existing callers.
annotator_queue = rules.annotator_queue
lead_queue = rules.lead_queue
visible_to = rules.visible_to
voted_by = rules.voted_by


@dataclass(frozen=True)
class Review:
    """States and consensus of every image, aligned on ``data.catalog.image_ids`` (N,)."""

    data: ReviewData
    result: ConsensusResult  # items = catalog positions; annotators = data.annotators
    state: np.ndarray  # <U11 (N,), issues_types state names
    in_review: np.ndarray  # bool (N,)
    lead_decision: np.ndarray  # int64 (N,): class index, DROP_CODE or NO_DECISION
    lead_ids: np.ndarray  # int64 (N,): the deciding lead's annotator id, -1 where none
    lead_reason: np.ndarray  # rules.REASON_DTYPE (N,): why an image waits for the lead or for
    # one more vote (rules.REASONS, methods.LEAD_RULES), "" else
    p_right: np.ndarray  # float64 (N,): estimated P(consensus label right), nan where no estimate
    best_label: np.ndarray  # int64 (N,): the evidence's most likely class, -1 where no estimate
    best_p: np.ndarray  # float64 (N,): its estimated probability, nan where no estimate
    required: int  # votes_required capped to the team (rules.votes_needed)
    target: float  # target_accuracy
    model_weight: float  # the fitted weight of the scan's model in the evidence (nan: none)

    @property
    def image_ids(self) -> np.ndarray:
        return self.data.catalog.image_ids

    def count(self, state: str) -> int:
        return int((self.state == state).sum())

    def state_counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in it.STATES}

    def calibration(self) -> Calibration:
        """Expected accuracy of what the consensus settled, and the check against leads."""
        settled = np.isin(self.state, (it.AGREED, it.DROPPED)) & (self.lead_decision == NO_DECISION)
        return calibration(
            self.p_right,
            settled & (self.result.decision >= 0),
            label=self.result.method_label,
            lead_decision=self.lead_decision,
        )


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
    class_votes = use & (v.kind == VoteKind.LABEL)
    shown = int((class_votes & v.suggestion_shown).sum())
    if not shown:
        return None
    return (
        f"{shown} of {int(class_votes.sum())} votes were cast with the model's suggestion shown: "
        "CROWDLAB counts the model twice for them; consider show_suggestion off or "
        "majority/dawid-skene"
    )


def _hard_reasons(
    result: ConsensusResult, votes: VoteMatrix, settings: dict[str, Any]
) -> np.ndarray:
    """Lead rules that hold whatever the evidence: drop votes mixed with class votes, and the
    ``min_agreement`` / ``min_consensus_quality`` overrides (0 = off, the default)."""
    counts = votes.counts()
    n, n_drop = counts.sum(axis=1), counts[:, votes.n_classes]
    floor = Fraction(settings["min_agreement"])
    min_quality = float(settings["min_consensus_quality"])
    rules_in_order = (
        (DROP_VS_RELABEL, (n_drop > 0) & (n_drop < n)),
        (LOW_AGREEMENT, (n > 0) & (result.agree * floor.denominator < floor.numerator * n)),
        (LOW_QUALITY, (n > 0) & (np.nan_to_num(result.quality, nan=0.0) < min_quality)),
    )
    reason = np.full(votes.n_items, "", dtype=rules.REASON_DTYPE)
    for name, mask in reversed(rules_in_order):
        reason[mask] = name
    return reason


@dataclass(frozen=True)
class Decided:
    """What ``decide`` returns: the consensus (decision updated by the routing), the estimate,
    the route of every item."""

    result: ConsensusResult
    p_right: np.ndarray  # float64 (N,)
    best_label: np.ndarray  # int64 (N,): the evidence's most likely class (-1: none)
    best_p: np.ndarray  # float64 (N,): its probability (nan: none)
    route: rules.Route
    model_weight: float


def decide(
    votes: VoteMatrix,
    *,
    method: str | None,
    pred_probs: np.ndarray | None,
    settings: dict[str, Any],
    required: int,
    left: np.ndarray,
    considered: np.ndarray,
    has_vote: np.ndarray,
) -> Decided:
    """The engine of ``compute_review`` (arrays only; ``scripts/bench_consensus.py`` runs it):
    consensus by ``method``, the evidence's ``p_right``, and ``rules.route``."""
    used = choose_method(method, has_scan=pred_probs is not None, votes=votes)
    result = consensus(votes, method=used, pred_probs=pred_probs)
    evidence = estimate(votes.class_votes(), pred_probs=pred_probs)
    p_right = evidence.p_right(result.method_label)
    counts = votes.counts()
    all_drop = (result.n_votes > 0) & (counts[:, votes.n_classes] == result.n_votes)
    route = rules.route(
        considered=considered,
        n_votes=result.n_votes,
        has_vote=has_vote,
        p_right=p_right,
        all_drop=all_drop,
        hard_reason=_hard_reasons(result, votes, settings),
        tie=result.lead_reason == TIE,
        required=required,
        left=left,
        target=float(settings["target_accuracy"]),
    )
    decision = np.where(route.settled, result.method_label, result.decision).astype(np.int64)
    decision[route.to_lead & (result.lead_reason == TIE)] = NO_DECISION
    result = replace(result, decision=decision, needs_lead=route.to_lead, lead_reason=route.reason)
    best_label, best_p = evidence.best()
    return Decided(result, p_right, best_label, best_p, route, evidence.model_weight)


def compute_review(
    data: ReviewData, *, method: str | None = None, pred_probs: np.ndarray | None = None
) -> Review:
    """Run ``method`` (None/auto: ``methods.choose_method``) over the current votes, estimate
    each image's probability of being right and route it (see the module docstring)."""
    matrix, use = vote_matrix(data)
    settings = data.settings
    lead_decision, lead_ids = _lead_decisions(data)
    has_vote = _images_with(data, data.votes.image_ids)  # any current vote, unsure included
    in_review = in_review_mask(data)
    required = rules.votes_needed(settings, data.annotators)
    decided = decide(
        matrix,
        method=method,
        pred_probs=pred_probs,
        settings=settings,
        required=required,
        left=_annotators_left(data),
        considered=in_review & (lead_decision == NO_DECISION),
        has_vote=has_vote,
    )
    result, route, p_right = decided.result, decided.route, decided.p_right
    if result.method == "crowdlab" and (note := _suggestion_note(data, use)):
        result.notes.append(note)
    decision = result.decision
    state = np.full(len(data.catalog), it.UNFLAGGED, dtype=STATE_DTYPE)
    state[in_review] = it.NEEDS_VOTES
    stale = in_review & _stale(data) & ~has_vote & (lead_decision == NO_DECISION)
    state[stale] = it.STALE
    state[route.to_lead] = it.NEEDS_LEAD
    state[route.settled & (decision >= 0)] = it.AGREED
    state[route.settled & (decision == DROP_CODE)] = it.DROPPED
    state[lead_decision >= 0] = it.RESOLVED
    state[lead_decision == DROP_CODE] = it.DROPPED
    state[data.catalog.status != ImageStatus.OK] = it.BROKEN
    reason = np.where(np.isin(state, (it.NEEDS_LEAD, it.NEEDS_VOTES)), route.reason, "")
    return Review(
        data,
        result,
        state,
        in_review,
        lead_decision,
        lead_ids,
        reason.astype(rules.REASON_DTYPE),
        p_right,
        decided.best_label,
        decided.best_p,
        required,
        float(settings["target_accuracy"]),
        decided.model_weight,
    )

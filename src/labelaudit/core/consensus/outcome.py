"""What review decided about every image: the API the export (and the app) read.

``review_outcomes`` gives numpy arrays aligned on ``image_ids`` (every image of the project, by id):
a lead decision comes first; otherwise the consensus counts when the image is ``agreed`` or
``dropped`` by consensus. ``final_class`` is -1 where review decided nothing (the export then
keeps the given label, ``labels``). ``run_consensus`` also stores the run (``consensus_runs`` +
arrays under owner ``consensus:<id>``) and logs it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import sqlalchemy as sa

from labelaudit.core import issues_types as it
from labelaudit.core.consensus.agreement import agreement_report
from labelaudit.core.consensus.decisions import DROP_CODE
from labelaudit.core.consensus.matrix import VoteMatrix
from labelaudit.core.consensus.methods import AUTO, METHODS, MODEL_AWARE
from labelaudit.core.consensus.review import ReviewData, load_review, scan_pred_probs, vote_matrix
from labelaudit.core.consensus.states import Review, compute_review
from labelaudit.core.consensus.vote_counts import current_counts
from labelaudit.core.errors import InputError
from labelaudit.core.progress import Progress
from labelaudit.core.store.arrays import put_array
from labelaudit.core.store.auditlog import log_action
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import consensus_runs

SOURCE_DTYPE = "<U9"


@dataclass(frozen=True)
class Outcomes:
    """Per image (N,), ordered by image id. Codes: ``state`` from ``issues_types``."""

    image_ids: np.ndarray  # int64 (N,)
    labels: np.ndarray  # int64 (N,): the given class index, -1 none
    state: np.ndarray  # <U11 (N,)
    final_class: np.ndarray  # int64 (N,): decided class index, -1 none (dropped or undecided)
    dropped: np.ndarray  # bool (N,)
    source: np.ndarray  # <U9 (N,): 'lead' | 'consensus' | ''
    consensus_class: np.ndarray  # int64 (N,): the consensus decision (class, -2 drop, -1 none)
    consensus_quality: np.ndarray  # float64 (N,), nan where no votes
    n_votes: np.ndarray  # int64 (N,), non-abstaining current votes
    agreement: np.ndarray  # float64 (N,), share of votes equal to the consensus, nan none
    needs_lead: np.ndarray  # bool (N,): state == needs_lead
    p_right: np.ndarray  # float64 (N,): estimated P(consensus label right), nan where none
    class_names: list[str]  # (K,)
    method: str  # the method that ran (crowdlab may fall back to majority)
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.image_ids.shape[0])


def outcomes_from(review: Review) -> Outcomes:
    r = review.result
    state = review.state
    broken = state == it.BROKEN
    by_lead = (review.lead_decision != -1) & ~broken
    by_consensus = ~by_lead & np.isin(state, (it.AGREED, it.DROPPED)) & ~broken
    final = np.full(len(state), -1, dtype=np.int64)
    final[by_lead] = np.maximum(review.lead_decision[by_lead], -1)
    final[by_consensus] = np.maximum(r.decision[by_consensus], -1)
    dropped = (by_lead & (review.lead_decision == DROP_CODE)) | (
        by_consensus & (r.decision == DROP_CODE)
    )
    source = np.full(len(state), "", dtype=SOURCE_DTYPE)
    source[by_lead] = "lead"
    source[by_consensus] = "consensus"
    return Outcomes(
        image_ids=review.image_ids,
        labels=review.data.catalog.labels,
        state=state,
        final_class=final,
        dropped=dropped,
        source=source,
        consensus_class=r.decision,
        consensus_quality=r.quality,
        n_votes=r.n_votes,
        agreement=r.agreement,
        needs_lead=state == it.NEEDS_LEAD,
        p_right=review.p_right,
        class_names=review.data.catalog.class_names,
        method=r.method,
        notes=list(r.notes),
    )


def model_probs(store: Store, data: ReviewData, method: str | None) -> np.ndarray | None:
    """The scan's pred_probs when ``method`` uses the model: a model-aware method needs them (an
    InputError without a scan); the default (None / auto) uses them when a scan has them."""
    if method in MODEL_AWARE:
        return scan_pred_probs(store, data)
    if method not in (None, AUTO):
        if method not in METHODS:
            raise InputError(f"unknown consensus method {method!r}: use {', '.join(METHODS)}")
        return None
    try:
        return scan_pred_probs(store, data)
    except InputError:  # no finished scan with pred_probs: a votes-only method
        return None


def build_review(store: Store, *, method: str | None = None, with_paths: bool = True) -> Review:
    """Read the project and compute states with ``method`` (None: the project's default,
    ``methods.choose_method``; crowdlab reads the scan's pred_probs)."""
    data = load_review(store, with_paths=with_paths)
    probs = model_probs(store, data, method)
    return compute_review(data, method=method, pred_probs=probs)


def review_agreement(
    review: Review, *, visible: np.ndarray | None = None
) -> tuple[VoteMatrix, dict[str, Any]]:
    """The vote matrix of a review and its agreement report (names for annotators, classes).

    ``visible`` bool (N,) (``rules.visible_to_person``): only the votes on those images count,
    and the method's annotator quality (estimated from every vote) is hidden when any image is
    not visible: blind review must not leak through aggregates."""
    matrix, _ = vote_matrix(review.data)
    result = review.result
    rows = review.data.votes
    if visible is not None and not visible.all():
        pos, found = review.data.image_index(rows.image_ids)
        seen = found & visible[pos]
        rows = replace(
            rows,
            **{f: getattr(rows, f)[seen] for f in ("seq", "annotator_ids", "image_ids", "kind")},
            **{f: getattr(rows, f)[seen] for f in ("labels", "is_keep", "suggestion_shown")},
        )
        keep = visible[matrix.item]
        matrix = VoteMatrix(
            matrix.item[keep],
            matrix.annotator[keep],
            matrix.value[keep],
            matrix.n_items,
            matrix.n_annotators,
            matrix.n_classes,
        )
        hidden_quality = np.full_like(result.annotator_quality, np.nan)
        result = replace(result, n_votes=np.where(visible, result.n_votes, 0))
        result = replace(result, annotator_quality=hidden_quality)
    report = agreement_report(
        matrix,
        result,
        annotator_names=[a.name for a in review.data.annotators],
        class_names=review.data.catalog.class_names,
    )
    # Votes counted as everywhere else (vote_counts): current ones, unsure included; the
    # statistics leave unsure out (it abstains).
    total, unsure = current_counts(rows, review.data.annotators)
    report["project"].update(votes=int(total.sum()), votes_unsure=int(unsure.sum()))
    for person, n, n_unsure in zip(report["annotators"], total, unsure, strict=True):
        person.update(votes=int(n), unsure=int(n_unsure))
    return matrix, report


def review_outcomes(store: Store, *, method: str | None = None) -> Outcomes:
    """The review outcome of every image (nothing is written)."""
    return outcomes_from(build_review(store, method=method, with_paths=False))


@dataclass(frozen=True)
class ConsensusRun:
    run_id: int
    review: Review
    outcomes: Outcomes
    summary: dict[str, Any]


def _summary(review: Review, requested: str | None) -> dict[str, Any]:
    r = review.result
    quality = {
        a.name: (None if np.isnan(q) else round(float(q), 4))
        for a, q in zip(review.data.annotators, r.annotator_quality, strict=True)
    }
    cal = review.calibration()
    return {
        "method_requested": requested or AUTO,
        "method": r.method,
        "target_accuracy": review.target,
        "votes_required_effective": review.required,
        "model_weight": None if np.isnan(review.model_weight) else review.model_weight,
        "settled": cal.settled,
        "expected_accuracy": None if np.isnan(cal.expected_accuracy) else cal.expected_accuracy,
        "expected_wrong": round(cal.expected_wrong, 2),
        "lead_checked": cal.lead_checked,
        "lead_measured_accuracy": None if np.isnan(cal.lead_measured) else cal.lead_measured,
        "lead_expected_accuracy": None if np.isnan(cal.lead_expected) else cal.lead_expected,
        "states": review.state_counts(),
        "images_in_review": int(review.in_review.sum()),
        "votes": len(review.data.votes),
        "annotator_quality": quality,
        "notes": r.notes,
    }


def _run_params(review: Review) -> dict[str, Any]:
    settings = review.data.settings
    keys = (
        "votes_required",
        "target_accuracy",
        "min_agreement",
        "min_consensus_quality",
        "review_issue_types",
    )
    params = {k: settings[k] for k in keys}
    params.update(scan_id=review.data.scan_id, class_names=review.data.catalog.class_names)
    return params


def _run_arrays(review: Review) -> dict[str, np.ndarray]:
    """What a stored run keeps: the images in review (or with votes) and every annotator."""
    r = review.result
    keep = np.flatnonzero(review.in_review | (r.n_votes > 0))
    return {
        "image_ids": review.image_ids[keep],
        "decision": r.decision[keep],
        "quality": r.quality[keep].astype(np.float32),
        "n_votes": r.n_votes[keep].astype(np.int32),
        "agree": r.agree[keep].astype(np.int32),
        "needs_lead": review.state[keep] == it.NEEDS_LEAD,
        "p_right": review.p_right[keep].astype(np.float32),
        "annotator_ids": np.array([a.id for a in review.data.annotators], dtype=np.int64),
        "annotator_quality": r.annotator_quality.astype(np.float32),
    }


def run_consensus(
    store: Store,
    *,
    method: str | None = None,
    actor: str | None = None,
    progress: Progress | None = None,
) -> ConsensusRun:
    """Compute the consensus, store it as a run (``consensus_runs`` + arrays under
    ``consensus:<id>``) and log it, in one transaction."""
    review = build_review(store, method=method)
    if progress is not None:
        for note in review.result.notes:
            progress.message(note)
    summary = _summary(review, method)
    params = _run_params(review)
    arrays = _run_arrays(review)
    used = review.result.method

    def save(conn: sa.Connection) -> int:
        row = sa.insert(consensus_runs).values(
            created_at=time.time(),
            method=used,
            params=json.dumps(params),
            summary=json.dumps(summary),
        )
        run_id = int(conn.execute(row).inserted_primary_key[0])  # type: ignore[index]
        for name, arr in arrays.items():
            put_array(conn, f"consensus:{run_id}", name, arr)
        details = {"method": used, "states": summary["states"], "notes": summary["notes"]}
        log_action(
            conn, "consensus_run", actor=actor, target=f"consensus:{run_id}", details=details
        )
        return run_id

    run_id = store.write(save)
    return ConsensusRun(run_id, review, outcomes_from(review), summary)

"""Who decided each image: the per-image facts behind ``votes.csv`` and ``decisions.csv``.

Gathered with the review (``core/export/review_facts.py``), written by
``core/export/decision_files.py``. ``votes.csv`` holds the current votes
(``core/consensus/vote_counts.py``: the votes ``info``, ``agreement``, ``votes export`` and the
app count) in the ``votes import`` format, so a team can re-import them. ``decisions.csv`` gives,
per image that review touched (flagged, put into review, voted on or decided), the decision path:
the model's pick with its probability, the consensus with its method and estimated accuracy
(``Review.p_right``), the lead's decision with the note, and what the export made of it
(``final_label``, ``decided_by`` = ``manifest.csv``'s ``decision_source``, or the reason it was
left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from labelaudit.core.consensus.states import Review


@dataclass(frozen=True)
class DecisionPath:
    """Per catalog row (N,): the consensus and the lead's decision behind the final label."""

    consensus_class: np.ndarray  # int64: class, DROP_CODE or -1 (none)
    p_right: np.ndarray  # float64: estimated P(consensus right), nan none
    n_votes: np.ndarray  # int64: non-abstaining current votes
    lead_decision: np.ndarray  # int64: class, DROP_CODE or -1 (none)
    lead: list[str]  # the deciding lead's name, "" none
    touched: np.ndarray  # bool: flagged, in review, voted on or decided
    votes: list[dict[str, Any]]  # the current votes as votes_csv rows


def decision_path(
    review: Review, image_ids: np.ndarray, votes: list[dict[str, Any]]
) -> DecisionPath:
    """The path of every image of ``image_ids`` (catalog order) from a computed review."""
    pos, found = review.data.image_index(image_ids)
    n = image_ids.shape[0]

    def take(values: np.ndarray, fill: Any) -> np.ndarray:
        out = np.full(n, fill, dtype=np.result_type(values, type(fill)))
        out[found] = values[pos[found]]
        return out

    names = {a.id: a.name for a in review.data.annotators}
    lead_ids = take(review.lead_ids, -1)
    return DecisionPath(
        consensus_class=take(review.result.decision, -1),
        p_right=take(np.asarray(review.p_right, dtype=np.float64), np.nan),
        n_votes=take(review.result.n_votes, 0),
        lead_decision=take(review.lead_decision, -1),
        lead=[names.get(int(i), "") if i >= 0 else "" for i in lead_ids],
        touched=take(
            review.in_review | (review.lead_ids >= 0) | (review.result.n_votes > 0), False
        ),
        votes=votes,
    )

"""The images to send back to a labelling tool: flagged and waiting for votes, or waiting for the
lead, with the given label, the scan's suggestion, the label quality and the current votes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelaudit.core import issues_types as it
from labelaudit.core.consensus.decisions import CLASS_PREFIX, DROP, UNSURE
from labelaudit.core.consensus.methods import AUTO
from labelaudit.core.consensus.outcome import build_review
from labelaudit.core.consensus.states import Review
from labelaudit.core.consensus.votes_csv import export_rows
from labelaudit.core.store.engine import Store
from labelaudit.core.store.scan_results import load_results

WANTED_STATES = (it.NEEDS_VOTES, it.NEEDS_LEAD, it.STALE)


@dataclass(frozen=True)
class PriorVote:
    vote_id: str
    annotator: str
    label: str | None  # the class; None for drop and unsure
    kind: str  # label | drop | unsure


@dataclass(frozen=True)
class ReviewItem:
    path: str
    state: str
    given: str | None
    suggested: str | None
    quality: float  # label quality of the given label (nan: not scanned)
    suggested_prob: float  # nan: not scanned
    votes: list[PriorVote] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        """What a review task carries for the way back (and for the person reviewing)."""

        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 6)

        return {
            "path": self.path,
            "state": self.state,
            "given_label": self.given,
            "suggested_label": self.suggested,
            "label_quality": num(self.quality),
            "suggested_prob": num(self.suggested_prob),
            "votes": [
                {"vote_id": v.vote_id, "annotator": v.annotator, "label": v.label, "kind": v.kind}
                for v in self.votes
            ],
        }


def _current_votes(store: Store) -> dict[str, list[PriorVote]]:
    """Each annotator's current vote per path (the last one cast), by path."""
    latest: dict[tuple[str, str], PriorVote] = {}
    for row in export_rows(store).rows:  # in the order cast
        label = row["label"]
        kind = label if label in (DROP, UNSURE) else "label"
        name = label.removeprefix(CLASS_PREFIX) if kind == "label" else None
        latest[(row["annotator"], row["path"])] = PriorVote(
            row["vote_id"], row["annotator"], name, kind
        )
    out: dict[str, list[PriorVote]] = {}
    for (_, path), vote in latest.items():
        out.setdefault(path, []).append(vote)
    return out


def _suggested_prob(store: Store, review: Review) -> np.ndarray:
    ids = review.image_ids
    out = np.full(len(ids), np.nan, dtype=np.float64)
    extras = load_results(store, names=("image_ids", "suggested_prob"))
    if extras is None or extras.scan_id != review.data.scan_id:
        return out
    if "suggested_prob" not in extras.arrays:
        return out
    where = {int(i): float(p) for i, p in zip(extras.image_ids, extras.suggested_prob, strict=True)}
    return np.array([where.get(int(i), math.nan) for i in ids], dtype=np.float64)


def review_items(store: Store, *, method: str = AUTO) -> list[ReviewItem]:
    """The images in review and not settled, lowest label quality first."""
    review = build_review(store, method=method, with_paths=True)
    data = review.data
    names = data.catalog.class_names
    paths = data.catalog.paths or []
    probs = _suggested_prob(store, review)
    votes = _current_votes(store)
    rows = np.flatnonzero(np.isin(review.state, WANTED_STATES))
    quality = data.label_quality.astype(np.float64)
    order = sorted(rows, key=lambda i: (np.nan_to_num(quality[i], nan=2.0), paths[i]))

    def name(index: int) -> str | None:
        return names[index] if 0 <= index < len(names) else None

    return [
        ReviewItem(
            path=paths[i],
            state=str(review.state[i]),
            given=name(int(data.catalog.labels[i])),
            suggested=name(int(data.suggested[i])),
            quality=float(quality[i]),
            suggested_prob=float(probs[i]),
            votes=votes.get(paths[i], []),
        )
        for i in order
    ]

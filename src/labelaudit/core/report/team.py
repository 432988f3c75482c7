"""The team's side of the report: review states, agreement, the lead's decisions.

The same computation as ``labelaudit agreement`` and ``labelaudit consensus``
(``consensus.outcome.build_review`` and ``review_agreement``); nothing is stored.
"""

from __future__ import annotations

import numpy as np

from labelaudit.core.consensus.methods import AUTO
from labelaudit.core.consensus.outcome import build_review, review_agreement
from labelaudit.core.consensus.states import Review
from labelaudit.core.report.model import ImageRef, ReviewFacts
from labelaudit.core.store.engine import Store

DECISIONS_SHOWN = 24

# Review states grouped the way a lead reports progress (issues_types.STATES).
PROGRESS = (
    ("settled by the annotators", ("agreed",)),
    ("waiting for votes", ("needs_votes",)),
    ("waiting for the lead", ("needs_lead",)),
    ("resolved by the lead", ("resolved",)),
    ("dropped", ("dropped",)),
    ("stale (file changed)", ("stale",)),
)


def progress(states: dict[str, int]) -> list[tuple[str, int]]:
    """(plain name, images) for each progress group, in review order."""
    return [(name, sum(states.get(s, 0) for s in group)) for name, group in PROGRESS]


def review_facts(store: Store, *, method: str = AUTO) -> ReviewFacts:
    review = build_review(store, method=method)
    data = review.data
    votes = len(data.votes)
    agreement = review_agreement(review)[1] if votes else None
    decided, total = _decisions(review)
    return ReviewFacts(
        states=review.state_counts(),
        votes=votes,
        annotators=len(data.annotators),
        agreement=agreement,
        decisions=decided,
        decision_total=total,
    )


def _decisions(review: Review) -> tuple[list[ImageRef], int]:
    """The lead's current decisions, newest first, as captioned images."""
    data = review.data
    d = data.decisions
    pos, found = data.image_index(d.image_ids)
    names = data.catalog.class_names
    leads = {a.id: a.name for a in data.annotators}
    order = np.flatnonzero(found)[np.argsort(-d.seq[found], kind="stable")]
    refs = []
    for j in order[:DECISIONS_SHOWN]:
        r = int(pos[j])
        given = int(data.catalog.labels[r])
        decision = "drop" if bool(d.is_drop[j]) else names[int(d.labels[j])]
        quality = float(data.label_quality[r])
        likely = int(data.suggested[r])
        refs.append(
            ImageRef(
                image_id=int(d.image_ids[j]),
                path=(data.catalog.paths or [""])[r],
                sha256=(data.catalog.sha256 or [None])[r],
                given=names[given] if given >= 0 else "",
                suggested=names[likely] if likely >= 0 else "",
                quality=quality if np.isfinite(quality) else None,
                note=f"{leads.get(int(d.lead_ids[j]), '?')}: {decision}",
            )
        )
    return refs, int(found.sum())

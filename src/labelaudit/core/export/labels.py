"""Each image's final label: the lead's decision, else the consensus, else the unreviewed policy.

Pure numpy over arrays aligned with the catalog (N images, class indices into the project's
sorted class names, -1 for none). Nothing here reads the database; ``review.py`` gathers the facts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelaudit.core.codes import ImageStatus
from labelaudit.core.issues_types import NEEDS_LEAD, NEEDS_VOTES, STALE

# decision_source values written to the manifest.
SOURCE_LEAD = "lead"
SOURCE_CONSENSUS = "consensus"
SOURCE_AUTO_FIX = "auto-fix"
SOURCE_GIVEN = "given"  # not flagged, not put into review by a lead, not decided
SOURCE_UNREVIEWED_KEEP = "unreviewed-keep"  # flagged or lead-requested, kept by --unreviewed keep

# Why an image is left out (empty string: it is exported).
OUT_BROKEN = "broken"
OUT_MISSING = "missing"
OUT_NO_LABEL = "no_label"
OUT_DROPPED_LEAD = "dropped_by_lead"
OUT_DROPPED_CONSENSUS = "dropped_by_consensus"
OUT_FLAGGED_UNREVIEWED = "flagged_unreviewed"
OUT_BELOW_THRESHOLD = "auto_fix_below_threshold"
OUT_DUPLICATE = "exact_duplicate"
OUT_UNDERSAMPLED = "undersampled"

WAITING_STATES = (NEEDS_VOTES, NEEDS_LEAD, STALE)


@dataclass(frozen=True)
class ReviewFacts:
    """What the scan and the reviewers say about each image, aligned with the catalog rows.

    ``decided`` holds the lead's or the consensus's class (-1 none); ``decided_by`` says which
    ('lead', 'consensus' or ''). ``suggested`` is a project class index (-1 when unknown) and
    ``suggested_prob``/``label_quality`` are NaN for images the scan did not cover.
    ``lead_requested`` marks images a lead put into review by hand: unsettled, they follow the
    policy as flagged ones do (an image that is in review only because someone voted on it
    does not: nothing questioned its label but that vote).
    """

    flagged: np.ndarray  # bool (N,): the scan flags an issue type the project reviews
    suggested: np.ndarray  # int64 (N,)
    suggested_prob: np.ndarray  # float32 (N,)
    label_quality: np.ndarray  # float32 (N,)
    state: np.ndarray  # str (N,): image review state (issues_types)
    decided: np.ndarray  # int64 (N,)
    decided_by: np.ndarray  # str (N,): 'lead' | 'consensus' | ''
    dropped: np.ndarray  # bool (N,): dropped by the lead or the consensus
    n_votes: np.ndarray  # int64 (N,)
    consensus_quality: np.ndarray  # float32 (N,), NaN where none
    lead_requested: np.ndarray  # bool (N,): a lead put the image into review

    @classmethod
    def empty(cls, n: int) -> ReviewFacts:
        """No scan and no votes: nothing is flagged, nothing decided."""
        return cls(
            flagged=np.zeros(n, dtype=bool),
            suggested=np.full(n, -1, dtype=np.int64),
            suggested_prob=np.full(n, np.nan, dtype=np.float32),
            label_quality=np.full(n, np.nan, dtype=np.float32),
            state=np.full(n, "unflagged", dtype="<U16"),
            decided=np.full(n, -1, dtype=np.int64),
            decided_by=np.full(n, "", dtype="<U16"),
            dropped=np.zeros(n, dtype=bool),
            n_votes=np.zeros(n, dtype=np.int64),
            consensus_quality=np.full(n, np.nan, dtype=np.float32),
            lead_requested=np.zeros(n, dtype=bool),
        )


@dataclass(frozen=True)
class FinalLabels:
    """The outcome per catalog row: ``final`` is -1 where ``excluded`` names a reason."""

    given: np.ndarray  # int64 (N,)
    final: np.ndarray  # int64 (N,)
    source: np.ndarray  # str (N,): SOURCE_* ('' for excluded images)
    excluded: np.ndarray  # str (N,): OUT_* or ''
    unresolved: np.ndarray  # bool (N,): review started but not settled (votes or lead pending)
    in_review: np.ndarray  # bool (N,): flagged or lead-requested, no lead/consensus decision

    @property
    def included(self) -> np.ndarray:
        return self.excluded == ""

    @property
    def relabelled(self) -> np.ndarray:
        return self.included & (self.final != self.given)


def decide_final_labels(
    given: np.ndarray,
    status: np.ndarray,
    facts: ReviewFacts,
    *,
    policy: str,
    auto_fix_threshold: float,
) -> FinalLabels:
    """Apply the rule: lead, else consensus, else ``policy`` for images the scan flagged or a
    lead put into review. Other images keep their given label, also while waiting for votes.

    ``given`` int64 (N,) class index (-1: no label); ``status`` uint8 (N,) catalog status codes
    (0 ok, 1 broken, 2 missing). ``policy`` is keep | exclude-flagged | auto-fix.
    """
    n = given.shape[0]
    final = np.full(n, -1, dtype=np.int64)
    source = np.full(n, "", dtype="<U16")
    excluded = np.full(n, "", dtype="<U32")
    by_lead = facts.decided_by == SOURCE_LEAD
    by_consensus = facts.decided_by == SOURCE_CONSENSUS
    decided = by_lead | by_consensus
    waiting = np.isin(facts.state, WAITING_STATES) & ~decided
    in_review = (facts.flagged | facts.lead_requested) & ~decided & ~facts.dropped
    unresolved = waiting & ((facts.n_votes > 0) | (facts.state != NEEDS_VOTES))

    # Settled by people: their class, or dropped.
    use_decision = decided & ~facts.dropped & (facts.decided >= 0)
    final[use_decision] = facts.decided[use_decision]
    source[use_decision & by_lead] = SOURCE_LEAD
    source[use_decision & by_consensus] = SOURCE_CONSENSUS
    excluded[facts.dropped & by_lead] = OUT_DROPPED_LEAD
    excluded[facts.dropped & ~by_lead] = OUT_DROPPED_CONSENSUS

    # Nobody decided: flagged or lead-requested images follow the policy; the rest keep their
    # label (a vote alone, e.g. "keep" on an unflagged image, does not put it under the policy).
    open_ = ~decided & ~facts.dropped
    plain = open_ & ~in_review
    final[plain] = given[plain]
    source[plain] = SOURCE_GIVEN
    _apply_policy(final, source, excluded, given, facts, in_review, policy, auto_fix_threshold)

    # No label at all, broken or missing files: never exported, whatever was decided.
    no_label = (final < 0) & (excluded == "")
    excluded[no_label] = OUT_NO_LABEL
    excluded[status == ImageStatus.BROKEN] = OUT_BROKEN
    excluded[status == ImageStatus.MISSING] = OUT_MISSING
    out = excluded != ""
    final[out] = -1
    source[out] = ""
    return FinalLabels(
        given=given.astype(np.int64, copy=True),
        final=final,
        source=source,
        excluded=excluded,
        unresolved=unresolved & (status == ImageStatus.OK),
        in_review=in_review & (status == ImageStatus.OK),
    )


def _apply_policy(
    final: np.ndarray,
    source: np.ndarray,
    excluded: np.ndarray,
    given: np.ndarray,
    facts: ReviewFacts,
    in_review: np.ndarray,
    policy: str,
    threshold: float,
) -> None:
    if policy == "keep":
        final[in_review] = given[in_review]
        source[in_review] = SOURCE_UNREVIEWED_KEEP
    elif policy == "exclude-flagged":
        excluded[in_review] = OUT_FLAGGED_UNREVIEWED
    elif policy == "auto-fix":
        # NaN (not covered by the scan) compares False: such images are left out.
        confident = (facts.suggested >= 0) & (np.nan_to_num(facts.suggested_prob) >= threshold)
        fix = in_review & confident
        final[fix] = facts.suggested[fix]
        source[fix] = SOURCE_AUTO_FIX
        excluded[in_review & ~confident] = OUT_BELOW_THRESHOLD
    else:  # options validate this; a new policy must be handled here
        raise ValueError(f"unknown unreviewed policy {policy!r}")

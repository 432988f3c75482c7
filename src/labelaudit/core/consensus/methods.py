"""Consensus methods over a vote matrix, and the one rule that sends an image to the lead.

Vocabulary (cleanlab's): ``N`` items (images with votes), ``M`` annotators, ``K`` classes. A vote
value is a class index ``0..K-1`` or ``K`` for drop; ``unsure`` votes abstain and are not in the
matrix. Each method decides the class of every item from its class votes; drop is settled by the
shared rule first, the same for every method:

- an item whose votes are all drop has the consensus *drop*;
- an item with drop votes *and* class votes goes to the lead (its decision is drop when the drop
  votes outnumber the votes for the method's class, else that class);
- then an item goes to the lead on a tie (the two most voted options have equal counts), on
  agreement below ``min_agreement`` (``agree * den < num * n``, integers), or on a consensus
  quality below ``min_quality``.

A tie has no consensus, whatever the method: its decision is ``NO_DECISION`` and its agreement
and quality are the share of the most voted option (at most 1/2), so a method that breaks the tie
(Dawid-Skene, CROWDLAB) cannot make it look settled; its pick stays in ``method_label``. Every item
the rule sends to the lead gets one ``lead_reason``, the first that applies of ``LEAD_RULES``.

Whether an item has *enough* votes (``votes_required``) and where it goes (settled, one more vote,
the lead) is decided by ``rules.route`` from ``evidence``'s probability; of this rule the project
keeps the tie (as a reason) and drop against relabel, and applies ``min_agreement`` /
``min_consensus_quality`` only when set (``states._hard_reasons``). ``choose_method`` picks the
default method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from labelaudit.core.codes import matrix_value
from labelaudit.core.consensus.decisions import DROP_CODE, NO_DECISION
from labelaudit.core.consensus.matrix import ClassConsensus, VoteMatrix, majority_classes
from labelaudit.core.errors import InputError

__all__ = ["ClassConsensus", "VoteMatrix", "majority_classes"]  # re-exported: old import path

METHODS = ("majority", "crowdlab", "dawid-skene")
AUTO = "auto"  # the default: see ``choose_method``
MODEL_AWARE = ("crowdlab",)  # methods that need the scan's pred_probs
MIN_OVERLAP = 20  # images with two or more class votes before Dawid-Skene beats majority
TIE = "tie"
DROP_VS_RELABEL = "drop vs relabel"
LOW_AGREEMENT = "low agreement"
LOW_QUALITY = "low consensus quality"
LEAD_RULES = (TIE, DROP_VS_RELABEL, LOW_AGREEMENT, LOW_QUALITY)  # in this order of precedence
NO_ANNOTATOR_LEFT = "no annotator left"  # set by the image states, not by this rule
REASON_DTYPE = f"<U{max(map(len, (*LEAD_RULES, NO_ANNOTATOR_LEFT)))}"


@dataclass
class ConsensusResult:
    """Per item (N,) and per annotator (M,). ``decision``: class index, DROP_CODE or NO_DECISION."""

    decision: np.ndarray  # int64 (N,)
    quality: np.ndarray  # float64 (N,), nan where no votes
    n_votes: np.ndarray  # int64 (N,), non-abstaining votes
    agree: np.ndarray  # int64 (N,), votes equal to the decision
    needs_lead: np.ndarray  # bool (N,), the shared rule (before votes_required)
    lead_reason: np.ndarray  # REASON_DTYPE (N,): the LEAD_RULES entry where needs_lead, else ""
    method_label: np.ndarray  # int64 (N,): the method's own pick, also on a tie (see above)
    annotator_quality: np.ndarray  # float64 (M,)
    method: str  # the method that ran (crowdlab may fall back to majority)
    notes: list[str] = field(default_factory=list)

    @property
    def agreement(self) -> np.ndarray:
        """float64 (N,): agree / n_votes, nan where no votes."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n_votes > 0, self.agree / np.maximum(self.n_votes, 1), np.nan)


def class_consensus(
    votes: VoteMatrix, *, method: str, pred_probs: np.ndarray | None = None
) -> ClassConsensus:
    """Run ``method`` on the class votes of ``votes``."""
    class_only = votes.class_votes()
    if method == "majority":
        return majority_classes(class_only)
    if method == "dawid-skene":
        from labelaudit.core.consensus.dawid_skene import dawid_skene

        return dawid_skene(class_only)
    if method == "crowdlab":
        from labelaudit.core.consensus.crowdlab import crowdlab

        if pred_probs is None:
            raise InputError(
                "the crowdlab method needs the scan's out-of-sample pred_probs: run "
                "'labelaudit scan' first, or use --method majority or dawid-skene"
            )
        return crowdlab(class_only, pred_probs)
    raise InputError(f"unknown consensus method {method!r}: use {', '.join(METHODS)}")


def choose_method(requested: str | None, *, has_scan: bool, votes: VoteMatrix) -> str:
    """The method to run: ``requested`` unless it is None or ``auto``; then CROWDLAB with a scan
    (model + votes), else Dawid-Skene once annotators overlap on ``MIN_OVERLAP`` images or more
    (it needs shared images to estimate each annotator), else majority."""
    if requested not in (None, AUTO):
        if requested not in METHODS:
            raise InputError(f"unknown consensus method {requested!r}: use {', '.join(METHODS)}")
        return str(requested)
    if has_scan:
        return "crowdlab"
    per_item = np.bincount(votes.class_votes().item, minlength=votes.n_items)
    overlap = int((per_item >= 2).sum())
    return "dawid-skene" if overlap >= MIN_OVERLAP else "majority"


def _first_reason(rules: list[np.ndarray]) -> np.ndarray:
    """REASON_DTYPE (N,): the first ``LEAD_RULES`` entry whose mask holds, "" where none."""
    reason = np.full(rules[0].shape, "", dtype=REASON_DTYPE)
    for name, mask in reversed(list(zip(LEAD_RULES, rules, strict=True))):
        reason[mask] = name
    return reason


def consensus(
    votes: VoteMatrix,
    *,
    method: str = "majority",
    pred_probs: np.ndarray | None = None,
    min_agreement: Fraction = Fraction(2, 3),
    min_quality: float = 0.5,
) -> ConsensusResult:
    """Consensus of every item plus the shared lead rule (see the module docstring).

    ``pred_probs`` (N, K) are out-of-sample predicted probabilities for the items (crowdlab);
    rows of nan mark items without them (they get the majority method).
    """
    k = votes.n_classes
    counts = votes.counts()
    n = counts.sum(axis=1)
    n_drop = counts[:, k]
    found = class_consensus(votes, method=method, pred_probs=pred_probs)
    rows = np.arange(votes.n_items)
    class_count = np.where(found.label >= 0, counts[rows, np.maximum(found.label, 0)], 0)
    drop_wins = (n_drop > 0) & (n_drop > class_count)
    picked = np.where(drop_wins, DROP_CODE, found.label).astype(np.int64)
    picked[n == 0] = NO_DECISION
    top_two = -np.sort(-np.pad(counts, ((0, 0), (0, 1))), axis=1)[:, :2]
    tie = (n > 0) & (top_two[:, 0] == top_two[:, 1])
    decision = np.where(tie, NO_DECISION, picked).astype(np.int64)
    code = np.maximum(matrix_value(picked, k), 0)  # no decision: any column (agree is 0)
    agree = np.where(n > 0, np.where(tie, top_two[:, 0], counts[rows, code]), 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = agree / np.maximum(n, 1)
    by_counts = tie | drop_wins | (n_drop == n)  # no class decision of the method's to score
    quality = np.where(n > 0, np.where(by_counts, share, found.quality), np.nan)
    n_class = n - n_drop
    rules = (
        tie,
        (n_drop > 0) & (n_class > 0),
        agree * min_agreement.denominator < min_agreement.numerator * n,
        np.nan_to_num(quality, nan=0.0) < min_quality,
    )
    reason = _first_reason([(n > 0) & r for r in rules])
    method_label = picked.copy()
    if found.method == "majority":
        method_label[tie] = NO_DECISION  # the lowest class index is no pick
    return ConsensusResult(
        decision=decision,
        quality=quality.astype(np.float64),
        n_votes=n.astype(np.int64),
        agree=agree.astype(np.int64),
        needs_lead=reason != "",
        lead_reason=reason,
        method_label=method_label,
        annotator_quality=found.annotator_quality,
        method=found.method,
        notes=found.notes,
    )

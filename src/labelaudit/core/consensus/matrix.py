"""The vote matrix and what a class-consensus method returns: the types every method shares.

They live apart from ``methods`` (which dispatches to ``crowdlab`` and ``dawid_skene``) so the
method modules import their types from here and no import cycle remains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelaudit.core.consensus.decisions import NO_DECISION


@dataclass(frozen=True)
class VoteMatrix:
    """Non-abstaining votes as triples. ``value`` is a class index or ``n_classes`` for drop."""

    item: np.ndarray  # int64 (V,), 0..N-1
    annotator: np.ndarray  # int64 (V,), 0..M-1
    value: np.ndarray  # int64 (V,), 0..K
    n_items: int
    n_annotators: int
    n_classes: int

    def counts(self) -> np.ndarray:
        """int64 (N, K+1): votes per item and value (the last column is drop)."""
        out = np.zeros((self.n_items, self.n_classes + 1), dtype=np.int64)
        np.add.at(out, (self.item, self.value), 1)
        return out

    def class_votes(self) -> VoteMatrix:
        """Only the votes for a class (drop removed)."""
        keep = self.value < self.n_classes
        return VoteMatrix(
            self.item[keep],
            self.annotator[keep],
            self.value[keep],
            self.n_items,
            self.n_annotators,
            self.n_classes,
        )


@dataclass
class ClassConsensus:
    """What a method returns for class votes: -1 / nan where an item has no class vote."""

    label: np.ndarray  # int64 (N,)
    quality: np.ndarray  # float64 (N,), in [0, 1]
    annotator_quality: np.ndarray  # float64 (M,), nan where unknown
    method: str
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # method-specific extras


def majority_classes(votes: VoteMatrix) -> ClassConsensus:
    """Plurality of the class votes (the lowest class index wins a tie; the rule sends ties to
    the lead). Quality = the share of class votes for it; annotator quality = the share of an
    annotator's votes equal to the plurality on items with two or more votes."""
    counts = votes.counts()[:, : votes.n_classes]
    n = counts.sum(axis=1)
    label = np.where(n > 0, counts.argmax(axis=1), NO_DECISION).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        quality = np.where(n > 0, counts.max(axis=1) / np.maximum(n, 1), np.nan)
    return ClassConsensus(label, quality, _agreement_quality(votes, label, n), "majority")


def _agreement_quality(votes: VoteMatrix, label: np.ndarray, n: np.ndarray) -> np.ndarray:
    shared = n[votes.item] >= 2
    hits = np.zeros(votes.n_annotators)
    totals = np.zeros(votes.n_annotators)
    np.add.at(totals, votes.annotator[shared], 1)
    np.add.at(hits, votes.annotator[shared], votes.value[shared] == label[votes.item[shared]])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, hits / np.maximum(totals, 1), np.nan)

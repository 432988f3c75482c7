"""Simulated annotators for tests and benchmarks: votes drawn from known confusion matrices."""

from __future__ import annotations

import numpy as np

from labelaudit.core.consensus.matrix import VoteMatrix


def confusion_from_accuracy(accuracy: float, n_classes: int) -> np.ndarray:
    """float64 (K, K): right with probability ``accuracy``, else any other class uniformly."""
    off = (1.0 - accuracy) / max(n_classes - 1, 1)
    out = np.full((n_classes, n_classes), off)
    np.fill_diagonal(out, accuracy)
    return out


def simulate_votes(
    truth: np.ndarray,
    confusions: np.ndarray,
    *,
    votes_per_item: int,
    rng: np.random.Generator,
    items: np.ndarray | None = None,
) -> VoteMatrix:
    """Each item (or each of ``items``) gets ``votes_per_item`` votes from distinct annotators
    drawn at random; annotator ``m`` answers class ``l`` for true class ``k`` with probability
    ``confusions[m, k, l]`` (float (M, K, K))."""
    n_annotators, n_classes = confusions.shape[0], confusions.shape[1]
    chosen = np.arange(truth.shape[0]) if items is None else np.asarray(items)
    who = np.stack([rng.permutation(n_annotators)[:votes_per_item] for _ in chosen])
    item = np.repeat(chosen, votes_per_item)
    annotator = who.reshape(-1)
    rows = confusions[annotator, truth[item]]  # (V, K)
    draws = rng.random(item.shape[0])[:, None]
    value = (draws > np.cumsum(rows, axis=1)).sum(axis=1)
    return VoteMatrix(
        item=item.astype(np.int64),
        annotator=annotator.astype(np.int64),
        value=np.minimum(value, n_classes - 1).astype(np.int64),
        n_items=int(truth.shape[0]),
        n_annotators=n_annotators,
        n_classes=n_classes,
    )

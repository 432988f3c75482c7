"""Rebalancing of the train split, class weights and per-sample weights.

Only the train split is rebalanced: validation and test keep the real class frequencies, so their
scores mean what they say. Whatever is done, the retraining script is told which ONE mechanism to
use (``retrain_balancing`` in provenance) so that imbalance is never corrected twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# What retraining should do about imbalance after each --rebalance mode.
RETRAIN_BALANCING = {
    "none": "class_weights",  # the data is as imbalanced as it was: weight the loss
    "oversample": "none",  # already balanced by repetition
    "undersample": "none",  # already balanced by leaving images out
}


@dataclass(frozen=True)
class Rebalanced:
    """Changes to the train rows: rows left out, and extra repeats of rows.

    ``left_out`` bool (T,) over the train rows given; ``repeat_of`` int64 (R,) indexes those rows
    and ``repeat_number`` int64 (R,) is 2 for a row's first extra copy, 3 for the next, ...
    """

    left_out: np.ndarray
    repeat_of: np.ndarray
    repeat_number: np.ndarray


def rebalance(
    labels: np.ndarray, *, mode: str, seed: int, keep_first: np.ndarray | None = None
) -> Rebalanced:
    """Oversample minority classes up to the largest, or undersample majority classes down to
    the smallest non-empty one. ``labels`` int64 (T,): class index of each train row.

    ``keep_first`` bool (T,) marks rows people decided (a lead or a consensus): undersampling
    leaves out the other rows of a class first, so the team's work is the last thing dropped.
    """
    t = labels.shape[0]
    none = Rebalanced(np.zeros(t, bool), np.zeros(0, np.int64), np.zeros(0, np.int64))
    if mode == "none" or t == 0:
        return none
    counts = np.bincount(labels)
    present = np.flatnonzero(counts)
    rng = np.random.default_rng(seed)
    if mode == "oversample":
        return _oversample(labels, counts, present, rng)
    if mode == "undersample":
        protected = np.zeros(t, bool) if keep_first is None else np.asarray(keep_first, bool)
        return _undersample(labels, counts, present, rng, protected)
    raise ValueError(f"unknown rebalance mode {mode!r}")


def _oversample(
    labels: np.ndarray, counts: np.ndarray, present: np.ndarray, rng: np.random.Generator
) -> Rebalanced:
    target = int(counts.max())
    repeat_of: list[np.ndarray] = []
    repeat_number: list[np.ndarray] = []
    for c in present:
        extra = target - int(counts[c])
        if extra <= 0:
            continue
        members = np.flatnonzero(labels == c)[rng.permutation(int(counts[c]))]
        # Cycle through the members: every member is repeated once before any is repeated twice.
        cycle = np.arange(extra)
        repeat_of.append(members[cycle % members.size])
        repeat_number.append(2 + cycle // members.size)
    if not repeat_of:
        return Rebalanced(np.zeros(labels.size, bool), np.zeros(0, np.int64), np.zeros(0, np.int64))
    return Rebalanced(
        np.zeros(labels.size, bool),
        np.concatenate(repeat_of).astype(np.int64),
        np.concatenate(repeat_number).astype(np.int64),
    )


def _undersample(
    labels: np.ndarray,
    counts: np.ndarray,
    present: np.ndarray,
    rng: np.random.Generator,
    protected: np.ndarray,
) -> Rebalanced:
    target = int(counts[present].min())
    left_out = np.zeros(labels.size, dtype=bool)
    for c in present:
        members = np.flatnonzero(labels == c)
        if members.size > target:
            # A seeded shuffle, then unprotected rows first (stable: the shuffle decides ties).
            shuffled = members[rng.permutation(members.size)]
            order = shuffled[np.argsort(protected[shuffled], kind="stable")]
            left_out[order[: members.size - target]] = True
    return Rebalanced(left_out, np.zeros(0, np.int64), np.zeros(0, np.int64))


def class_weights(counts: np.ndarray) -> np.ndarray:
    """float64 (K,): ``n / (K * n_k)`` over the K classes present (0 for an absent class).

    Balanced weights as scikit-learn's ``compute_class_weight("balanced")``: a class with the
    average size weighs 1, and ``sum_k n_k * w_k == n``.
    """
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    out = np.zeros(counts.shape, dtype=np.float64)
    if present.any():
        out[present] = counts.sum() / (present.sum() * counts[present])
    return out

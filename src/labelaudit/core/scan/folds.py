"""Fold assignment: stratified by class, seeded, and duplicate groups never straddle folds."""

from __future__ import annotations

import warnings

import numpy as np

from labelaudit.core.errors import InputError


def assign_folds(
    labels: np.ndarray, *, n_folds: int, seed: int, groups: np.ndarray | None = None
) -> np.ndarray:
    """int8 (N,): the fold that holds each image out.

    ``labels`` int64 (N,) in 0..K-1; ``groups`` int64 (N,), -1 = alone. Images that share a group
    id land in one fold (``StratifiedGroupKFold``), so a mislabelled twin is never predicted by a
    model that trained on its twin. Without shared groups the cheaper ``StratifiedKFold`` gives the
    same guarantee.
    """
    n = len(labels)
    if n_folds < 2:
        raise InputError(f"--folds must be at least 2, got {n_folds}")
    unit_groups = _unit_groups(groups, n)
    n_units = len(np.unique(unit_groups)) if unit_groups is not None else n
    if n_units < n_folds:
        raise InputError(
            f"{n_folds} folds need at least {n_folds} images (or duplicate groups); got {n_units}"
        )
    check_folds_fit(np.bincount(labels) if n else np.zeros(0, np.int64), n_folds=n_folds)
    if unit_groups is None:
        return _stratified(labels, n_folds=n_folds, seed=seed)
    return _stratified_grouped(labels, unit_groups, n_folds=n_folds, seed=seed)


def check_folds_fit(
    class_counts: np.ndarray, *, n_folds: int, class_names: list[str] | None = None
) -> None:
    """InputError unless some class has at least ``n_folds`` images (``class_counts`` (K,)).

    Stratified K-fold needs it; a class smaller than the folds is merely reported by the audit.
    Checked before a scan row is created, so a bad ``--folds`` stores nothing.
    """
    if class_counts.size == 0 or n_folds <= int(class_counts.max()):
        return
    names = class_names or [f"class {k}" for k in range(class_counts.size)]
    present = np.flatnonzero(class_counts)
    big = int(present[np.argmax(class_counts[present])])
    small = int(present[np.argmin(class_counts[present])])
    largest, smallest = int(class_counts[big]), int(class_counts[small])
    if largest == smallest:
        sizes, every = f"every class has {largest}", ""
    else:
        sizes = f"largest class {names[big]}: {largest}, smallest {names[small]}: {smallest}"
        every = f" (--folds {smallest} or fewer audits every class)" if smallest >= 2 else ""
    raise InputError(
        f"--folds {n_folds} is more than any class has images ({sizes}): use --folds "
        f"{max(largest, 2)} or fewer{every}"
    )


def _stratified(labels: np.ndarray, *, n_folds: int, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    fold = np.full(len(labels), -1, dtype=np.int8)
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # "The least populated class has only m members": such classes are reported (and kept out
        # of the flags) by the audit, which knows --min-class-size.
        warnings.simplefilter("ignore", UserWarning)
        for k, (_, held_out) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
            fold[held_out] = k
    return fold


def _stratified_grouped(
    labels: np.ndarray, unit_groups: np.ndarray, *, n_folds: int, seed: int
) -> np.ndarray:
    """Shared groups first (``StratifiedGroupKFold`` on them alone: it is quadratic-ish and takes
    10 s on 60,000 singleton groups), then single images fill each class up to equal fold counts."""
    from sklearn.model_selection import StratifiedGroupKFold

    rng = np.random.default_rng([seed, 7919])
    fold = np.full(len(labels), -1, dtype=np.int8)
    group_ids, sizes = np.unique(unit_groups, return_counts=True)
    in_shared = np.isin(unit_groups, group_ids[sizes > 1])
    shared_idx = np.flatnonzero(in_shared)
    shared_groups = unit_groups[shared_idx]
    distinct = np.unique(shared_groups)
    if distinct.size < n_folds or np.bincount(labels[shared_idx]).max() < n_folds:
        # too few groups (or members per class) for StratifiedGroupKFold: spread them at random
        order = rng.permutation(max(n_folds, distinct.size)) % n_folds
        fold[shared_idx] = order[np.searchsorted(distinct, shared_groups)]
    else:
        splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            splits = splitter.split(shared_idx, labels[shared_idx], shared_groups)
            for k, (_, held_out) in enumerate(splits):
                fold[shared_idx[held_out]] = k
    n_classes = int(labels.max(initial=0)) + 1
    for cls in range(n_classes):
        singles = rng.permutation(np.flatnonzero((labels == cls) & ~in_shared))
        taken = np.bincount(fold[(labels == cls) & in_shared], minlength=n_folds)
        adds = _water_fill(taken, singles.size, rng)
        fold[singles] = np.repeat(np.arange(n_folds), adds)
    return fold


def _water_fill(counts: np.ndarray, n_new: int, rng: np.random.Generator) -> np.ndarray:
    """How many of ``n_new`` items each fold gets so that the smallest folds are filled first."""
    add = np.zeros(len(counts), dtype=np.int64)
    remaining = n_new
    while remaining > 0:
        level = counts + add
        low = level.min()
        at_low = np.flatnonzero(level == low)
        higher = level[level > low]
        room = (higher.min() - low) * at_low.size if higher.size else remaining
        if room >= remaining:
            add[at_low] += remaining // at_low.size
            extra = rng.permutation(at_low)[: remaining % at_low.size]
            add[extra] += 1
            break
        add[at_low] += higher.min() - low
        remaining -= room
    return add


def _unit_groups(groups: np.ndarray | None, n: int) -> np.ndarray | None:
    """Group ids with every -1 made its own group; None when no group has two members."""
    if groups is None:
        return None
    groups = np.asarray(groups, dtype=np.int64)
    if groups.shape != (n,):
        raise InputError(f"groups must have shape ({n},), got {groups.shape}")
    shared = groups[groups >= 0]
    if shared.size == 0 or np.unique(shared).size == shared.size:
        return None
    out = groups.copy()
    alone = np.flatnonzero(groups < 0)
    out[alone] = groups.max(initial=0) + 1 + np.arange(alone.size)
    return out

"""Stratified splits where no duplicate group straddles two splits.

M = exported images, K = classes, S = splits (2 or 3). Every class gets integer targets within one
image of its share in every split (largest remainders, handed to the splits that are globally
behind, so small classes do not all round the same way). Multi-image groups are placed first,
each whole into the split with the most room for its classes; single images then fill each
class's remaining targets. A class can miss its share only by up to its largest group's size,
and every deviation over one image is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelaudit.core.dataset.discover import SPLIT_ALIASES
from labelaudit.core.errors import InputError


@dataclass(frozen=True)
class Deviation:
    """A class whose count in a split is more than one image away from its share."""

    class_index: int
    split: str
    count: int
    share: float
    largest_group: int  # the bound that a duplicate group allows

    @property
    def within_group_bound(self) -> bool:
        return abs(self.count - self.share) <= max(1, self.largest_group) + 1e-9


def class_targets(counts: np.ndarray, fractions: tuple[float, ...]) -> np.ndarray:
    """int64 (K, S): per-class split sizes, each within one image of ``count * fraction``."""
    frac = np.asarray(fractions, dtype=np.float64)
    share = counts[:, None].astype(np.float64) * frac[None, :]
    targets = np.floor(share + 1e-9).astype(np.int64)
    remainder = share - targets
    assigned_total = np.zeros(frac.size, dtype=np.float64)
    goal_total = np.zeros(frac.size, dtype=np.float64)
    for k in range(counts.shape[0]):
        goal_total += share[k]
        extra = int(counts[k] - targets[k].sum())
        candidates = np.flatnonzero(remainder[k] > 1e-9)
        if extra > 0:
            deficit = goal_total - (assigned_total + targets[k])
            # Most behind globally first; then the largest remainder; then the earlier split.
            order = np.lexsort((candidates, -remainder[k][candidates], -deficit[candidates]))
            targets[k, candidates[order[:extra]]] += 1
        assigned_total += targets[k]
    return targets


def assign_splits(
    labels: np.ndarray, groups: np.ndarray, fractions: tuple[float, ...], *, seed: int
) -> np.ndarray:
    """int8 (M,): the split index of each image. ``labels`` int64 (M,) class index 0..K-1;
    ``groups`` int64 (M,) group id (equal ids stay together). Same inputs and seed, same result.
    """
    m = labels.shape[0]
    split = np.full(m, -1, dtype=np.int8)
    if m == 0:
        return split
    k = int(labels.max()) + 1
    n_splits = len(fractions)
    targets = class_targets(np.bincount(labels, minlength=k), fractions)
    remaining = targets.copy()
    rng = np.random.default_rng(seed)
    _, group_index, group_size = np.unique(groups, return_inverse=True, return_counts=True)
    by_group = np.argsort(group_index, kind="stable")
    group_start = np.concatenate(([0], np.cumsum(group_size)[:-1]))
    multi = np.flatnonzero(group_size > 1)
    tiebreak = rng.permutation(multi.size)
    for g in multi[np.lexsort((tiebreak, -group_size[multi]))]:
        members = by_group[group_start[g] : group_start[g] + group_size[g]]
        need = np.bincount(labels[members], minlength=k)
        s = _best_split_for_group(need, remaining, targets, n_splits)
        split[members] = s
        remaining[:, s] -= need
    singles = split < 0
    for c in range(k):
        members = np.flatnonzero(singles & (labels == c))
        members = members[rng.permutation(members.size)]
        sizes = _fill_sizes(remaining[c], members.size)
        split[members] = np.repeat(np.arange(n_splits, dtype=np.int8), sizes)
    return split


def _best_split_for_group(
    need: np.ndarray, remaining: np.ndarray, targets: np.ndarray, n_splits: int
) -> int:
    """The split that takes the group with the least overflow, then the most relative room."""
    involved = np.flatnonzero(need)
    best, best_key = 0, (np.inf, np.inf)
    for s in range(n_splits):
        room = remaining[involved, s]
        overflow = float(np.maximum(need[involved] - room, 0).sum())
        relative_room = float((need[involved] * room / np.maximum(targets[involved, s], 1)).sum())
        key = (overflow, -relative_room)
        if key < best_key:
            best, best_key = s, key
    return best


def _fill_sizes(remaining: np.ndarray, n: int) -> np.ndarray:
    """How many of ``n`` single images go to each split, given the room left (may be negative)."""
    room = np.maximum(remaining, 0)
    if room.sum() == n:
        return room
    if room.sum() == 0:  # groups overfilled everything: spread by the original proportions
        room = np.ones_like(remaining)
    scaled = room * (n / room.sum())
    sizes = np.floor(scaled).astype(np.int64)
    leftover = n - int(sizes.sum())
    if leftover > 0:
        order = np.lexsort((np.arange(room.size), -(scaled - sizes)))
        sizes[order[:leftover]] += 1
    return sizes


def split_deviations(
    labels: np.ndarray,
    split: np.ndarray,
    groups: np.ndarray,
    fractions: tuple[float, ...],
    split_names: tuple[str, ...],
) -> list[Deviation]:
    """Every (class, split) whose count is more than one image away from its share."""
    out: list[Deviation] = []
    if labels.size == 0:
        return out
    k = int(labels.max()) + 1
    _, group_index, group_size = np.unique(groups, return_inverse=True, return_counts=True)
    member_group_size = group_size[group_index]
    for c in range(k):
        mask = labels == c
        n_c = int(mask.sum())
        largest = int(member_group_size[mask].max()) if n_c else 0
        counts = np.bincount(split[mask].astype(np.int64), minlength=len(split_names))
        for s, name in enumerate(split_names):
            share = n_c * fractions[s]
            if abs(counts[s] - share) > 1 + 1e-9:
                out.append(Deviation(c, name, int(counts[s]), share, largest))
    return out


def splits_from_column(values: list[str | None]) -> tuple[np.ndarray, tuple[str, ...]]:
    """An imported ``split`` column as (int8 (M,) split index, split names).

    Accepts train/val/test and common synonyms (validation, valid, dev, testing). Raises
    InputError when an exported image has no split or an unknown one.
    """
    normal: list[str] = []
    unknown: dict[str, int] = {}
    missing = 0
    for value in values:
        key = (value or "").strip().lower()
        if not key:
            missing += 1
            normal.append("")
        elif key not in SPLIT_ALIASES:
            unknown[key] = unknown.get(key, 0) + 1
            normal.append("")
        else:
            normal.append(SPLIT_ALIASES[key])
    if missing:
        raise InputError(
            f"--keep-splits: {missing} exported images have no split value; import a manifest "
            "with a split column for every image, or use --splits"
        )
    if unknown:
        listed = ", ".join(sorted(unknown))
        raise InputError(f"--keep-splits: unknown split values {listed}; use train, val or test")
    names: tuple[str, ...] = ("train", "val", "test") if "test" in normal else ("train", "val")
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[v] for v in normal], dtype=np.int8), names


def straddling_groups(groups: np.ndarray, split: np.ndarray) -> int:
    """How many groups have members in more than one split."""
    if groups.size == 0:
        return 0
    order = np.lexsort((split, groups))
    g, s = groups[order], split[order]
    change = (g[1:] == g[:-1]) & (s[1:] != s[:-1])
    return int(np.unique(g[1:][change]).size)

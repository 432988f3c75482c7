"""Duplicate groups: exact duplicates are thinned (``--dedupe``), and no group straddles splits."""

from __future__ import annotations

import numpy as np

from labelaudit.core.export.labels import (
    SOURCE_AUTO_FIX,
    SOURCE_CONSENSUS,
    SOURCE_GIVEN,
    SOURCE_LEAD,
)

# Which member of an exact-duplicate group keep-one keeps: the most trusted label, then lowest id.
SOURCE_RANK = {SOURCE_LEAD: 0, SOURCE_CONSENSUS: 1, SOURCE_AUTO_FIX: 2, SOURCE_GIVEN: 3}


def merge_groups(*group_arrays: np.ndarray) -> np.ndarray:
    """int64 (N,): connected components of several group labelings (-1 = no group).

    Images sharing a group id in ANY input end up in one output group, so an exact-duplicate
    pair that is also near-duplicate with a third image forms one group of three. Every image
    gets a group id (singletons their own), numbered by the lowest row in each group.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = group_arrays[0].shape[0]
    heads: list[np.ndarray] = []
    tails: list[np.ndarray] = []
    for groups in group_arrays:
        members = np.flatnonzero(groups >= 0)
        order = members[np.argsort(groups[members], kind="stable")]
        same = groups[order][1:] == groups[order][:-1]
        heads.append(order[:-1][same])
        tails.append(order[1:][same])
    head = np.concatenate(heads) if heads else np.zeros(0, np.int64)
    tail = np.concatenate(tails) if tails else np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(head.size, dtype=np.int8), (head, tail)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    # Renumber by first appearance so the ids do not depend on scipy's internals.
    _, first_row, dense = np.unique(component, return_index=True, return_inverse=True)
    rank = np.empty_like(first_row)
    rank[np.argsort(first_row)] = np.arange(first_row.size)
    return rank[dense].astype(np.int64)


def keep_one_per_duplicate_group(
    dup_group: np.ndarray, included: np.ndarray, source: np.ndarray, image_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which included exact duplicates to leave out, and which member each one duplicates.

    Returns (drop bool (N,), kept_row int64 (N,): the row kept in place of each dropped row,
    -1 elsewhere). The kept member has the most trusted decision source, then the lowest id.
    """
    n = dup_group.shape[0]
    drop = np.zeros(n, dtype=bool)
    kept_row = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero((dup_group >= 0) & included)
    if rows.size == 0:
        return drop, kept_row
    rank = np.fromiter((SOURCE_RANK.get(str(s), 9) for s in source[rows]), np.int64, rows.size)
    order = rows[np.lexsort((image_ids[rows], rank, dup_group[rows]))]
    groups = dup_group[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = groups[1:] != groups[:-1]
    keeper_of_group = {int(g): int(r) for g, r in zip(groups[first], order[first])}
    for r in order[~first]:
        drop[r] = True
        kept_row[r] = keeper_of_group[int(dup_group[r])]
    return drop, kept_row


def conflicting_groups(groups: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> list[int]:
    """Group ids among ``rows`` whose members carry more than one label."""
    seen: dict[int, int] = {}
    conflicts: set[int] = set()
    for r in rows:
        g, lab = int(groups[r]), int(labels[r])
        if seen.setdefault(g, lab) != lab:
            conflicts.add(g)
    return sorted(conflicts)

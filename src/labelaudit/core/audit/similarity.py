"""Near-duplicates and outliers from embeddings (one network for all images: architecture.md §5).

Shapes: ``embeddings`` float (N, D); ``dup_group`` int64 (N,) exact-duplicate groups from the
catalog (-1 = unique).

Near-duplicates follow cleanlab Datalab's rule: two images are near-duplicates when the cosine
distance between their embeddings -- on L2-normalised vectors, half the squared Euclidean distance
-- is below ``NEAR_DUP_RELATIVE`` (0.13, Datalab's default) times the median distance from an
image to its nearest neighbour. The threshold is relative, so it adapts to any embedding space.
Groups are the connected components of those pairs joined with the exact-duplicate groups.

Outliers: ``cleanlab.outlier.OutOfDistribution`` scores each image by the mean distance to its
``OUTLIER_K`` nearest neighbours (score in (0, 1], low = atypical). An image is flagged when that
distance lies above Q3 + 1.7 IQR of all images' distances (Datalab's default threshold 0.37037,
a Tukey fence); the score is exp(-distance / scale), so the fence is computed on -log(score).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEAR_DUP_RELATIVE = 0.13
NEAR_DUP_K = 10
OUTLIER_K = 10
OUTLIER_IQR_SCALE = 1 / 0.37037 - 1  # = 1.7


@dataclass(frozen=True)
class Similarity:
    near_dup_group: np.ndarray  # int64 (N,), -1 = none; exact copies included
    outlier_score: np.ndarray | None  # float32 (N,), low = atypical; None without embeddings
    is_outlier: np.ndarray  # bool (N,)
    near_dup_radius: float | None  # the cosine-distance threshold used


def l2_normalise(embeddings: np.ndarray) -> np.ndarray:
    x = np.asarray(embeddings, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def near_duplicate_pairs(
    embeddings: np.ndarray, *, relative: float = NEAR_DUP_RELATIVE, k: int = NEAR_DUP_K
) -> tuple[np.ndarray, np.ndarray, float]:
    """(i, j) index arrays of near-duplicate pairs and the cosine-distance radius used."""
    from sklearn.neighbors import NearestNeighbors

    x = l2_normalise(embeddings)
    n_neighbors = min(k, x.shape[0] - 1)
    knn = NearestNeighbors(n_neighbors=n_neighbors, metric="euclidean").fit(x)
    distances, indices = knn.kneighbors()  # no X: each image is not its own neighbour
    cosine = distances.astype(np.float64) ** 2 / 2
    radius = relative * max(float(np.median(cosine[:, 0])), 1e-12)
    rows, cols = np.nonzero(cosine < radius)
    return rows, indices[rows, cols], radius


def group_components(n: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """int64 (n,): connected-component id for nodes in a group of 2 or more, else -1."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component)
    grouped = sizes[component] > 1
    out = np.full(n, -1, dtype=np.int64)
    # Number the groups 0.. in order of their first member, so ids are dense and stable.
    _, first, inverse = np.unique(component[grouped], return_index=True, return_inverse=True)
    out[grouped] = np.argsort(np.argsort(first))[inverse]
    return out


def exact_duplicate_pairs(dup_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges linking each member of an exact-duplicate group to the group's first member."""
    members = np.flatnonzero(dup_group >= 0)
    if members.size == 0:
        return members, members
    groups = dup_group[members]
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    heads = members[first][inverse]
    return members, heads


def outlier_scores(embeddings: np.ndarray, *, k: int = OUTLIER_K) -> tuple[np.ndarray, np.ndarray]:
    """(float32 (N,) cleanlab OutOfDistribution score, bool (N,) flagged by the Tukey fence)."""
    from cleanlab.outlier import OutOfDistribution

    x = l2_normalise(embeddings)
    ood = OutOfDistribution(params={"k": min(k, x.shape[0] - 1)})
    scores = np.asarray(ood.fit_score(features=x, verbose=False), dtype=np.float64)
    distance = -np.log(np.clip(scores, 1e-300, None))
    q1, q3 = np.percentile(distance, [25, 75])
    fence = q3 + OUTLIER_IQR_SCALE * (q3 - q1)
    return scores.astype(np.float32), distance > fence


def find_similarity_issues(
    embeddings: np.ndarray | None, dup_group: np.ndarray, *, min_images: int = 3
) -> Similarity:
    """Near-duplicate groups (exact copies always; near ones with embeddings) and outliers."""
    n = dup_group.shape[0]
    rows, cols = exact_duplicate_pairs(dup_group)
    if embeddings is None or n < min_images:
        return Similarity(group_components(n, rows, cols), None, np.zeros(n, dtype=bool), None)
    near_rows, near_cols, radius = near_duplicate_pairs(embeddings)
    groups = group_components(
        n, np.concatenate([rows, near_rows]), np.concatenate([cols, near_cols])
    )
    scores, flagged = outlier_scores(embeddings)
    return Similarity(groups, scores, flagged, radius)

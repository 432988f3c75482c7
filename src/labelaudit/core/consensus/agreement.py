"""Inter-annotator agreement, per project and per class.

The data are the current non-abstaining votes: the categories are the K classes plus *drop*
(``unsure`` is a missing value). An item is an image; ``counts[i, c]`` is the number of votes for
category ``c`` on item ``i`` and ``m_i`` its number of votes.

**Krippendorff's alpha (nominal)**, the headline because items have varying numbers of votes.
Only pairable items (``m_i >= 2``) count. Coincidences ``o[c, k] = sum_i counts[i, c] *
(counts[i, k] - [c == k]) / (m_i - 1)``, ``n_c = sum_k o[c, k]``, ``n = sum_c n_c``;
``alpha = 1 - (n - 1) * (n - sum_c o[c, c]) / (n**2 - sum_c n_c**2)``
(Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"). 1 is perfect agreement,
0 is chance; undefined (nan) with fewer than two pairable values or only one category in use.

**Fleiss' kappa** needs the same number of ratings per item: it uses the items whose vote count
``m`` is the most common count among items with two or more votes (the larger count on a tie);
the report says which ``m`` and how many items. ``P_i = sum_c counts[i,c] (counts[i,c] - 1) /
(m (m - 1))``, ``p_c = sum_i counts[i, c] / (N m)``, ``kappa = (mean P_i - sum p_c**2) /
(1 - sum p_c**2)`` (Fleiss 1971).

**Per class** ``c``: the same statistics on the votes recoded as "c" versus "not c" over every
item (category-specific agreement; for Fleiss this equals Fleiss' own per-category kappa).

**Cohen's kappa** for each pair of annotators over the items both voted on:
``(p_o - p_e) / (1 - p_e)`` with ``p_e`` from each annotator's own category shares; nan with
fewer than two shared items or when ``p_e == 1``, and on the diagonal (an annotator with
themselves).

**Annotator vs consensus**: the share of an annotator's votes equal to the consensus decision,
over the items that have a consensus (two or more votes); with the method's quality score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labelaudit.core.codes import matrix_value
from labelaudit.core.consensus.methods import ConsensusResult, VoteMatrix


def krippendorff_alpha_nominal(counts: np.ndarray) -> float:
    """Nominal alpha from a value-count matrix (items, categories); see the module docstring."""
    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1)
    pairable = counts[m >= 2]
    m = m[m >= 2]
    if pairable.size == 0:
        return float("nan")
    weights = 1.0 / (m - 1.0)
    diagonal = ((pairable * (pairable - 1.0)) * weights[:, None]).sum(axis=0)
    n_c = pairable.sum(axis=0)  # sum_k o[c, k] equals the number of pairable values of c
    n = float(n_c.sum())
    expected = n * n - float((n_c**2).sum())
    if n < 2 or expected <= 0:
        return float("nan")
    return 1.0 - (n - 1.0) * (n - float(diagonal.sum())) / expected


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa from a count matrix (items, categories) with equal row sums ``m >= 2``."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.shape[0] == 0:
        return float("nan")
    m = counts.sum(axis=1)
    if not np.all(m == m[0]) or m[0] < 2:
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of ratings per item")
    raters = m[0]
    p_item = ((counts * (counts - 1.0)).sum(axis=1)) / (raters * (raters - 1.0))
    p_cat = counts.sum(axis=0) / (counts.shape[0] * raters)
    p_e = float((p_cat**2).sum())
    if p_e >= 1.0:
        return float("nan")
    return (float(p_item.mean()) - p_e) / (1.0 - p_e)


def fleiss_subset(counts: np.ndarray) -> tuple[np.ndarray, int]:
    """The rows with the most common vote count among rows with >= 2 votes, and that count."""
    m = counts.sum(axis=1)
    multi = m[m >= 2]
    if multi.size == 0:
        return counts[:0], 0
    values, freq = np.unique(multi, return_counts=True)
    chosen = int(values[freq == freq.max()].max())
    return counts[m == chosen], chosen


def binary_counts(counts: np.ndarray, category: int) -> np.ndarray:
    """(items, 2): votes for ``category`` and for anything else."""
    hit = counts[:, category]
    return np.stack([hit, counts.sum(axis=1) - hit], axis=1)


def cohen_kappa_matrix(votes: VoteMatrix) -> tuple[np.ndarray, np.ndarray]:
    """(kappa float64 (M, M), shared items int64 (M, M)) between every pair of annotators.

    The kappa diagonal is nan (None in the report); ``shared[a, a]`` is a's number of items."""
    n_ann, n_cat = votes.n_annotators, votes.n_classes + 1
    table = np.full((votes.n_items, n_ann), -1, dtype=np.int64)
    table[votes.item, votes.annotator] = votes.value
    kappa = np.full((n_ann, n_ann), np.nan)
    shared = np.zeros((n_ann, n_ann), dtype=np.int64)
    for a in range(n_ann):
        shared[a, a] = int((table[:, a] >= 0).sum())  # kappa with oneself means nothing: nan
        for b in range(a + 1, n_ann):
            both = (table[:, a] >= 0) & (table[:, b] >= 0)
            shared[a, b] = shared[b, a] = int(both.sum())
            if both.sum() < 2:
                continue
            x, y = table[both, a], table[both, b]
            p_o = float((x == y).mean())
            p_e = float(
                (np.bincount(x, minlength=n_cat) * np.bincount(y, minlength=n_cat)).sum()
            ) / (x.size**2)
            if p_e < 1.0:
                kappa[a, b] = kappa[b, a] = (p_o - p_e) / (1.0 - p_e)
    return kappa, shared


def _nan_to_none(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 4)


def _stats(counts: np.ndarray) -> dict[str, Any]:
    subset, m = fleiss_subset(counts)
    return {
        "krippendorff_alpha": _nan_to_none(krippendorff_alpha_nominal(counts)),
        "fleiss_kappa": _nan_to_none(fleiss_kappa(subset)) if m else None,
        "fleiss_items": int(subset.shape[0]),
        "fleiss_ratings_per_item": m,
        "items_with_2plus_votes": int((counts.sum(axis=1) >= 2).sum()),
        "votes": int(counts.sum()),
    }


def agreement_report(
    votes: VoteMatrix,
    result: ConsensusResult,
    *,
    annotator_names: Sequence[str],
    class_names: Sequence[str],
) -> dict[str, Any]:
    """Every statistic of the module docstring as a JSON-ready dict."""
    counts = votes.counts()
    categories = [*class_names, "drop"]
    per_class = {
        name: _stats(binary_counts(counts, c))
        for c, name in enumerate(categories)
        if counts[:, c].sum() > 0
    }
    kappa, shared = cohen_kappa_matrix(votes)
    code = matrix_value(result.decision, votes.n_classes)
    has_consensus = (result.n_votes >= 2) & (result.decision != -1)
    used = has_consensus[votes.item]
    hits = np.zeros(votes.n_annotators)
    totals = np.zeros(votes.n_annotators)
    np.add.at(totals, votes.annotator[used], 1)
    np.add.at(hits, votes.annotator[used], votes.value[used] == code[votes.item[used]])
    people = []
    for a, name in enumerate(annotator_names):
        people.append(
            {
                "name": name,
                "votes": int((votes.annotator == a).sum()),
                "agreement_with_consensus": _nan_to_none(hits[a] / totals[a])
                if totals[a]
                else None,
                "quality": _nan_to_none(float(result.annotator_quality[a])),
            }
        )
    return {
        "method": result.method,
        "project": _stats(counts),
        "per_class": per_class,
        "annotators": people,
        "cohen_kappa": {
            "annotators": list(annotator_names),
            "kappa": [[_nan_to_none(v) for v in row] for row in kappa],
            "shared_items": shared.tolist(),
        },
    }

"""Agreement statistics against published worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from labelaudit.core.consensus.agreement import (
    agreement_report,
    binary_counts,
    cohen_kappa_matrix,
    fleiss_kappa,
    fleiss_subset,
    krippendorff_alpha_nominal,
)
from labelaudit.core.consensus.methods import VoteMatrix, consensus

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories.
WIKIPEDIA_FLEISS = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers x 12
# units with missing values (0 = missing); nominal alpha = 0.743.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3],
        [0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0],
    ]
)


def _votes_from_reliability(data: np.ndarray) -> VoteMatrix:
    coder, unit = np.nonzero(data)
    return VoteMatrix(unit, coder, data[coder, unit] - 1, data.shape[1], data.shape[0], 5)


def test_fleiss_kappa_wikipedia_example() -> None:
    assert round(fleiss_kappa(WIKIPEDIA_FLEISS), 3) == 0.210
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa(np.array([[1, 1], [2, 1]]))


def test_krippendorff_alpha_2011_example() -> None:
    votes = _votes_from_reliability(KRIPPENDORFF_2011)
    counts = votes.counts()[:, :5]
    assert round(krippendorff_alpha_nominal(counts), 3) == 0.743
    assert krippendorff_alpha_nominal(np.array([[2, 0], [0, 3]])) == 1.0
    assert np.isnan(krippendorff_alpha_nominal(np.array([[1, 0], [0, 1]])))  # nothing pairable


def test_per_class_binary_equals_fleiss_category_kappa() -> None:
    n, m = WIKIPEDIA_FLEISS.shape[0], 14
    for c in range(5):
        column = WIKIPEDIA_FLEISS[:, c]
        p = column.sum() / (n * m)
        by_formula = 1 - (column * (m - column)).sum() / (n * m * (m - 1) * p * (1 - p))
        assert fleiss_kappa(binary_counts(WIKIPEDIA_FLEISS, c)) == pytest.approx(by_formula)


def test_fleiss_uses_the_most_common_vote_count() -> None:
    counts = np.array([[2, 1], [3, 0], [1, 1], [0, 3], [1, 0]])
    subset, m = fleiss_subset(counts)
    assert m == 3 and subset.tolist() == [[2, 1], [3, 0], [0, 3]]


def test_cohen_kappa_matches_scikit_learn() -> None:
    from sklearn.metrics import cohen_kappa_score

    votes = _votes_from_reliability(KRIPPENDORFF_2011)
    kappa, shared = cohen_kappa_matrix(votes)
    for a in range(4):
        assert np.isnan(kappa[a, a])  # the diagonal stays empty: kappa with oneself is no news
        for b in range(4):
            both = (KRIPPENDORFF_2011[a] > 0) & (KRIPPENDORFF_2011[b] > 0)
            assert shared[a, b] == both.sum()
            if a == b:
                continue
            expected = cohen_kappa_score(KRIPPENDORFF_2011[a, both], KRIPPENDORFF_2011[b, both])
            assert kappa[a, b] == pytest.approx(expected)


def test_report_is_json_ready() -> None:
    import json

    votes = _votes_from_reliability(KRIPPENDORFF_2011)
    result = consensus(votes, method="majority")
    report = agreement_report(
        votes, result, annotator_names=list("ABCD"), class_names=["1", "2", "3", "4", "5"]
    )
    json.dumps(report)
    assert report["project"]["krippendorff_alpha"] == pytest.approx(0.7434, abs=1e-4)
    assert report["project"]["fleiss_ratings_per_item"] == 4
    assert report["project"]["fleiss_items"] == 8
    assert set(report["per_class"]) == {"1", "2", "3", "4", "5"}
    people = {a["name"]: a for a in report["annotators"]}
    assert people["A"]["votes"] == 9 and 0 < people["C"]["agreement_with_consensus"] < 1
    assert all(report["cohen_kappa"]["kappa"][a][a] is None for a in range(4))

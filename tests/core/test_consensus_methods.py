"""Consensus methods on vote matrices: majority, Dawid-Skene, CROWDLAB, and the lead rule."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from labelaudit.core.consensus.crowdlab import FALLBACK_NOTE
from labelaudit.core.consensus.dawid_skene import dawid_skene
from labelaudit.core.consensus.decisions import DROP_CODE, NO_DECISION, Decision, parse_decision
from labelaudit.core.consensus.methods import VoteMatrix, consensus, majority_classes
from labelaudit.core.consensus.simulate import confusion_from_accuracy, simulate_votes
from labelaudit.core.errors import InputError


def matrix(rows: list[list[int | None]], k: int) -> VoteMatrix:
    """Items x annotators; None = no vote; k = drop."""
    item, who, value = [], [], []
    for i, row in enumerate(rows):
        for a, v in enumerate(row):
            if v is not None:
                item.append(i), who.append(a), value.append(v)
    return VoteMatrix(
        np.array(item, dtype=np.int64),
        np.array(who, dtype=np.int64),
        np.array(value, dtype=np.int64),
        len(rows),
        max(len(r) for r in rows),
        k,
    )


def test_parse_decision_reserved_words_and_class_prefix() -> None:
    names = ["cat", "drop", "keep"]
    assert parse_decision("keep", names) == Decision("keep")
    assert parse_decision("class:keep", names) == Decision("label", "keep")
    assert parse_decision(" cat ", names) == Decision("label", "cat")
    assert parse_decision("drop", names) == Decision("drop")
    assert str(Decision("label", "drop")) == "class:drop"
    with pytest.raises(InputError, match="unknown class 'dog'"):
        parse_decision("dog", names)
    with pytest.raises(InputError):
        parse_decision("class:unsure", names)


def test_majority_and_the_shared_lead_rule() -> None:
    k = 3
    votes = matrix(
        [
            [0, 0, 1],  # 2 of 3: agreed at 2/3
            [0, 1, None],  # tie
            [k, k, k],  # all drop
            [k, 2, 2],  # drop against labels
            [0, 1, 2],  # 1 of 3
            [None, None, None],  # no votes
            [2, None, None],  # one vote
        ],
        k,
    )
    out = consensus(votes, method="majority", min_agreement=Fraction(2, 3), min_quality=0.5)
    # a tie (item 1, and the 1-1-1 of item 4) has no consensus: the lead decides
    assert out.decision.tolist() == [0, NO_DECISION, DROP_CODE, 2, NO_DECISION, NO_DECISION, 2]
    assert out.method_label.tolist() == out.decision.tolist()  # majority has no tie-break
    assert out.needs_lead.tolist() == [False, True, False, True, True, False, False]
    assert out.lead_reason.tolist() == ["", "tie", "", "drop vs relabel", "tie", "", ""]
    assert out.n_votes.tolist() == [3, 2, 3, 3, 3, 0, 1]
    assert out.agree.tolist() == [2, 1, 3, 2, 1, 0, 1]
    np.testing.assert_allclose(out.agreement[:2], [2 / 3, 1 / 2])
    np.testing.assert_allclose(out.quality[[1, 4]], [1 / 2, 1 / 3])
    assert np.isnan(out.quality[5])
    strict = consensus(votes, method="majority", min_agreement=Fraction(3, 4))
    assert strict.needs_lead[0] and strict.lead_reason[0] == "low agreement"
    doubtful = consensus(votes, method="majority", min_agreement=Fraction(1, 2), min_quality=0.7)
    assert doubtful.lead_reason[0] == "low consensus quality"  # 2/3 agree, quality 0.667
    drops_win = consensus(matrix([[k, k, 2]], k), method="majority")
    assert drops_win.decision.tolist() == [DROP_CODE] and drops_win.needs_lead.tolist() == [True]


def test_a_tie_has_no_consensus_even_when_dawid_skene_breaks_it() -> None:
    # annotators 0 and 1 agree with each other on every clear item, 2 and 3 answer at random:
    # Dawid-Skene trusts 0 and 1, so it is sure of their side of a 2-2 tie
    rng = np.random.default_rng(3)
    rows: list[list[int | None]] = []
    for _ in range(60):
        truth = int(rng.integers(0, 2))
        rows.append([truth, truth, int(rng.integers(0, 2)), int(rng.integers(0, 2))])
    rows.append([0, 0, 1, 1])  # the 2-2 tie
    votes = matrix(rows, 2)
    ds = dawid_skene(votes.class_votes())
    assert ds.label[-1] == 0 and ds.quality[-1] > 0.9  # what the user saw: "cat 0.99"
    out = consensus(votes, method="dawid-skene")
    assert out.decision[-1] == NO_DECISION and out.method_label[-1] == 0
    assert out.quality[-1] == 0.5 and out.agreement[-1] == 0.5
    assert out.needs_lead[-1] and out.lead_reason[-1] == "tie"


def test_unknown_method_and_crowdlab_without_probs() -> None:
    votes = matrix([[0, 0]], 2)
    with pytest.raises(InputError, match="unknown consensus method"):
        consensus(votes, method="vote-counting")
    with pytest.raises(InputError, match="pred_probs"):
        consensus(votes, method="crowdlab")


def _class_dependent(accuracies: list[float], k: int) -> np.ndarray:
    out = np.zeros((k, k))
    for c, acc in enumerate(accuracies):
        out[c] = (1 - acc) / (k - 1)
        out[c, c] = acc
    return out


def test_dawid_skene_beats_majority_and_recovers_diagonals() -> None:
    k, n = 4, 4000
    rng = np.random.default_rng(0)
    truth = rng.integers(0, k, n)
    confusions = np.stack(
        [
            _class_dependent([0.9, 0.6, 0.8, 0.7], k),
            _class_dependent([0.7, 0.85, 0.6, 0.8], k),
            _class_dependent([0.65, 0.7, 0.75, 0.6], k),
            _class_dependent([0.8, 0.55, 0.7, 0.65], k),
            confusion_from_accuracy(0.9, k)[[1, 0, 2, 3]],  # swaps classes 0 and 1
        ]
    )
    votes = simulate_votes(truth, confusions, votes_per_item=5, rng=rng)
    majority = majority_classes(votes)
    ds = dawid_skene(votes)
    acc_majority = float((majority.label == truth).mean())
    acc_ds = float((ds.label == truth).mean())
    assert acc_ds >= acc_majority + 0.03, (acc_ds, acc_majority)
    found = np.diagonal(ds.details["confusion"], axis1=1, axis2=2)
    true = np.diagonal(confusions, axis1=1, axis2=2)
    assert np.abs(found - true).max() <= 0.05, np.round(found - true, 3)
    assert found[4, 0] < 0.1 and found[4, 1] < 0.1  # the swapper is found out
    assert np.argmin(ds.annotator_quality) == 4


def test_dawid_skene_through_consensus_handles_drop_and_missing_items() -> None:
    k = 2
    votes = matrix([[0, 0, 1], [k, k, None], [None, None, None], [1, 1, 1]], k)
    out = consensus(votes, method="dawid-skene")
    assert out.decision.tolist() == [0, DROP_CODE, NO_DECISION, 1]
    assert out.method == "dawid-skene" and np.isfinite(out.quality[[0, 1, 3]]).all()


def test_crowdlab_uses_pred_probs_and_falls_back() -> None:
    k, n = 3, 300
    rng = np.random.default_rng(1)
    truth = rng.integers(0, k, n)
    accuracies = [0.9, 0.7, 0.6, 0.55]
    confusions = np.stack([confusion_from_accuracy(a, k) for a in accuracies])
    votes = simulate_votes(truth, confusions, votes_per_item=2, rng=rng)
    probs = np.full((n, k), 0.1)
    probs[np.arange(n), truth] = 0.8
    probs[:5] = np.nan  # images the scan does not know
    out = consensus(votes, method="crowdlab", pred_probs=probs)
    assert out.method == "crowdlab" and any("without pred_probs" in m for m in out.notes)
    maj = consensus(votes, method="majority")
    # the methods' own picks (ties included; the decision leaves ties to the lead)
    assert (out.method_label == truth).mean() > (maj.method_label == truth).mean() + 0.05
    assert np.argmax(out.annotator_quality) == 0
    single = simulate_votes(truth, confusions, votes_per_item=1, rng=rng)
    fallback = consensus(single, method="crowdlab", pred_probs=probs)
    assert fallback.method == "majority" and FALLBACK_NOTE in fallback.notes

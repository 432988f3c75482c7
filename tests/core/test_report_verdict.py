"""The verdict rules on retrain.py histories (verdict.py's docstring states them)."""

from __future__ import annotations

from typing import Any

from labelaudit.core.report.verdict import verdicts


def history(
    train: float,
    val: float,
    *,
    recall: dict[str, float] | None = None,
    counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    recall = recall or {"a": val, "b": val}
    counts = counts or {"a": 100, "b": 100}
    return {
        "best_epoch": 2,
        "epochs": [
            {"epoch": 1, "train_accuracy": train / 2, "val_accuracy": val / 2},
            {"epoch": 2, "train_accuracy": train, "val_accuracy": val},
            {"epoch": 3, "train_accuracy": 0.0, "val_accuracy": 0.0},  # not the kept epoch
        ],
        "train_images": counts,
        "final": {"val": {"recall": recall}},
    }


def names(h: dict[str, Any], noise: float | None = None) -> list[str]:
    return [v.name for v in verdicts(h, noise=noise)]


def test_both_low_and_close_is_underfitting() -> None:
    assert names(history(0.40, 0.36)) == ["underfitting"]
    # Low, but as high as 40% wrong labels allow: not underfitting; the labels cap it.
    assert names(history(0.58, 0.57), noise=0.40) == ["data-bound"]


def test_train_far_above_validation_is_overfitting() -> None:
    found = verdicts(history(0.99, 0.70), noise=None)
    assert [v.name for v in found] == ["overfitting"]
    assert "99%" in found[0].rule and "70%" in found[0].rule


def test_minority_recall_far_below_majority_is_imbalance_bound() -> None:
    counts = {"big1": 500, "big2": 480, "mid": 200, "small1": 40, "small2": 30, "small3": 20}
    recall = {"big1": 0.95, "big2": 0.93, "mid": 0.9, "small1": 0.5, "small2": 0.4, "small3": 0.3}
    assert names(history(0.92, 0.9, recall=recall, counts=counts)) == ["imbalance-bound"]
    # The same recalls with equal class sizes: not an imbalance problem.
    equal = dict.fromkeys(counts, 100)
    assert "imbalance-bound" not in names(history(0.92, 0.9, recall=recall, counts=equal))


def test_validation_error_tracking_the_noise_estimate_is_data_bound() -> None:
    found = verdicts(history(0.83, 0.80), noise=0.18)
    assert [v.name for v in found] == ["data-bound"]
    assert "20%" in found[0].rule and "18%" in found[0].rule
    # Far better than the noise estimate (a cleaned export): not capped by the labels.
    assert names(history(0.99, 0.97), noise=0.18) == ["no clear limit"]


def test_several_rules_can_hold_and_the_first_is_the_headline() -> None:
    counts = {"a": 300, "b": 300, "c": 20}
    recall = {"a": 0.9, "b": 0.9, "c": 0.2}
    found = names(history(0.99, 0.75, recall=recall, counts=counts), noise=0.22)
    assert found == ["overfitting", "imbalance-bound", "data-bound"]


def test_a_run_without_validation_has_no_accuracy_verdict() -> None:
    h = history(0.9, 0.9)
    for e in h["epochs"]:
        e["val_accuracy"] = None
    h["final"] = {}
    assert names(h) == ["no clear limit"]

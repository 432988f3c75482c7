"""A plain verdict on a retraining run (retrain.py's history): what limits the model.

The rules, stated in the report beside the verdict (accuracies at the kept epoch; the label-noise
ceiling is 1 - the scan's estimated share of wrong labels, 1 without a scan):

- **underfitting**: train accuracy more than ``UNDERFIT_MARGIN`` below the ceiling, and
  validation within ``GAP`` of train: both low, so more capacity or epochs help;
- **overfitting**: train accuracy more than ``GAP`` above validation: augmentation,
  regularisation or more data help;
- **imbalance-bound**: the mean final recall of the smallest third of the classes (by train
  images, at least ``MIN_RATIO`` times fewer than the largest third) is more than
  ``RECALL_GAP`` below that of the largest third;
- **data-bound**: the validation error is within ``DATA_MARGIN`` of the scan's estimated share
  of wrong labels (at least ``MIN_NOISE``): it tracks the label noise, so the labels, not the
  model, cap it; cleaning them (and a cleaner validation split) is what moves the number.

Every rule that holds is listed; the first in the order above is the headline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GAP = 0.10
UNDERFIT_MARGIN = 0.10
RECALL_GAP = 0.20
MIN_RATIO = 2.0
DATA_MARGIN = 0.05
MIN_NOISE = 0.05


RULES = (
    f"underfitting: train accuracy more than {UNDERFIT_MARGIN:.0%} below the label-noise ceiling "
    f"and validation within {GAP:.0%} of train; overfitting: train more than {GAP:.0%} above "
    f"validation; imbalance-bound: the smallest third of the classes (at least {MIN_RATIO:g}x "
    f"fewer train images) has mean recall more than {RECALL_GAP:.0%} below the largest third; "
    f"data-bound: the validation error within {DATA_MARGIN:.0%} of the scan's estimated share "
    f"of wrong labels (at least {MIN_NOISE:.0%}). Accuracies at the kept epoch."
)


@dataclass(frozen=True)
class Verdict:
    name: str  # underfitting | overfitting | imbalance-bound | data-bound | no clear limit
    rule: str  # the rule, with this run's numbers
    advice: str


def _kept_epoch(history: dict[str, Any]) -> dict[str, Any]:
    epochs = history["epochs"]
    best = int(history.get("best_epoch") or len(epochs))
    return next((e for e in epochs if e["epoch"] == best), epochs[-1])


def _imbalance(history: dict[str, Any]) -> Verdict | None:
    final = history.get("final") or {}
    split = next((s for s in ("val", "test") if s in final), None)
    counts = history.get("train_images") or {}
    if split is None or len(counts) < 2:
        return None
    recall = {c: r for c, r in final[split]["recall"].items() if r is not None and c in counts}
    ranked = sorted(recall, key=lambda c: (counts[c], c))
    third = max(1, len(ranked) // 3)
    small, large = ranked[:third], ranked[-third:]
    n_small = sum(counts[c] for c in small) / third
    n_large = sum(counts[c] for c in large) / third
    r_small = sum(recall[c] for c in small) / third
    r_large = sum(recall[c] for c in large) / third
    if n_large < MIN_RATIO * max(n_small, 1) or r_small >= r_large - RECALL_GAP:
        return None
    return Verdict(
        "imbalance-bound",
        f"the smallest classes ({', '.join(small)}; {n_small:.0f} train images on average) have "
        f"{split} recall {r_small:.0%} against {r_large:.0%} for the largest ({n_large:.0f}): "
        f"more than {RECALL_GAP:.0%} lower",
        "Collect more images of the small classes, or export with --rebalance oversample; check "
        "their flagged labels first: a small class suffers most from wrong labels.",
    )


def verdicts(history: dict[str, Any], *, noise: float | None) -> list[Verdict]:
    """Every rule of the module docstring that holds, headline first; one 'no clear limit'
    verdict when none does."""
    kept = _kept_epoch(history)
    train, val = kept.get("train_accuracy"), kept.get("val_accuracy")
    ceiling = 1.0 - (noise or 0.0)
    found: list[Verdict] = []
    if train is not None and val is not None:
        if train < ceiling - UNDERFIT_MARGIN and train - val <= GAP:
            found.append(
                Verdict(
                    "underfitting",
                    f"train accuracy {train:.0%} is more than {UNDERFIT_MARGIN:.0%} below what "
                    f"the labels allow ({ceiling:.0%}) and validation ({val:.0%}) is close to it",
                    "Train longer or use a bigger or pretrained model (retrain.py --epochs, "
                    "--model resnet18 --pretrained).",
                )
            )
        if train - val > GAP:
            found.append(
                Verdict(
                    "overfitting",
                    f"train accuracy {train:.0%} is more than {GAP:.0%} above validation {val:.0%}",
                    "Augment more, regularise (dropout, weight decay), or add data.",
                )
            )
    imbalance = _imbalance(history)
    if imbalance is not None:
        found.append(imbalance)
    error = None if val is None else 1.0 - val
    if (
        error is not None
        and noise is not None
        and noise >= MIN_NOISE
        and abs(error - noise) <= DATA_MARGIN
    ):
        found.append(
            Verdict(
                "data-bound",
                f"the validation error {error:.0%} is within {DATA_MARGIN:.0%} of the share of "
                f"wrong labels the scan estimates ({noise:.0%})",
                "The labels cap the score: review and fix the flagged labels, export again and "
                "retrain; a bigger model will not help much.",
            )
        )
    if not found:
        shown = "n/a" if val is None else f"{val:.0%}"
        found.append(
            Verdict(
                "no clear limit",
                f"none of the rules holds (validation accuracy {shown}, ceiling {ceiling:.0%})",
                "Nothing stands out; compare with a stronger model before collecting more data.",
            )
        )
    return found

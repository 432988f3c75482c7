"""Consensus methods against simulated annotators on the demo digits.

Usage: python scripts/bench_consensus.py [--seed 0] [--noise 0.1]

The 1,797 digits of ``core.dataset.demo.load_digit_images`` (32x32), given labels with ``--noise``
uniform label noise (as the demo plants), out-of-sample pred_probs from 5-fold cross-validated
logistic regression trained on the given labels (fast; the CNN scan is better). Simulated
annotators vote; each method's consensus is scored against the true digit, and each annotator's
estimated quality against their true accuracy. Scenarios: the reference panel (accuracies
0.9/0.8/0.7/0.6/0.55, 3 votes per image), fewer but better annotators, one adversarial annotator,
and the real workflow where only the images cleanlab flags get votes (there only the agreed
consensus changes the dataset: images sent to the lead keep their given label, and their count is
printed). With crowd-kit importable (it is not a dependency), a crowd-kit Dawid-Skene row is added.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import numpy as np

from labelaudit.core.consensus.methods import METHODS, VoteMatrix, consensus
from labelaudit.core.consensus.simulate import confusion_from_accuracy, simulate_votes
from labelaudit.core.dataset.demo import flip_labels, load_digit_images

K = 10


@dataclass
class Scenario:
    name: str
    confusions: np.ndarray  # (M, K, K)
    votes_per_item: int
    only_flagged: bool = False


def cv_pred_probs(pixels: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, C=0.1))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    # 4x4 mean pooling back to 8x8: the 32x32 upscale adds no information and costs 16x the time.
    n, h, w = pixels.shape
    pooled = pixels.reshape(n, h // 4, 4, w // 4, 4).mean(axis=(2, 4))
    x = pooled.reshape(n, -1).astype(np.float32) / 255.0
    return cross_val_predict(model, x, labels, cv=folds, method="predict_proba")


def adversary(k: int, strength: float) -> np.ndarray:
    """Answers the next class, (c + 1) mod K, with probability ``strength``."""
    out = np.full((k, k), (1 - strength) / (k - 1))
    for c in range(k):
        out[c, (c + 1) % k] = strength
    return out


def scenarios() -> list[Scenario]:
    reference = np.stack([confusion_from_accuracy(a, K) for a in (0.9, 0.8, 0.7, 0.6, 0.55)])
    better = np.stack([confusion_from_accuracy(a, K) for a in (0.95, 0.9, 0.85)])
    hostile = np.concatenate([reference[:4], adversary(K, 0.8)[None]])
    return [
        Scenario("reference: 5 annotators 0.9-0.55, 3 votes", reference, 3),
        Scenario("fewer but better: 3 annotators 0.95/0.9/0.85, 3 votes", better, 3),
        Scenario("adversarial: 0.9/0.8/0.7/0.6 + one answering c+1 (p=0.8)", hostile, 3),
        Scenario(
            "real workflow: only flagged images get votes (reference panel)", reference, 3, True
        ),
    ]


def true_accuracy(confusions: np.ndarray, truth: np.ndarray) -> np.ndarray:
    prior = np.bincount(truth, minlength=K) / truth.size
    return (np.diagonal(confusions, axis1=1, axis2=2) * prior).sum(axis=1)


def dataset_effect(
    decision: np.ndarray,
    needs_lead: np.ndarray,
    voted: np.ndarray,
    given: np.ndarray,
    truth: np.ndarray,
) -> str:
    """Correct labels before and after review when only the agreed consensus is applied: an
    image left to the lead keeps its given label here (the lead has not decided yet)."""
    final = given.copy()
    agreed = voted & ~needs_lead & (decision >= 0)
    final[agreed] = decision[agreed]
    to_lead = int((voted & needs_lead).sum())
    return (
        f"dataset {float((given == truth).mean()):.3f} -> {float((final == truth).mean()):.3f} "
        f"correct labels, {to_lead} images left to the lead (keeping their given label)"
    )


def crowdkit_dawid_skene(votes: VoteMatrix) -> np.ndarray | None:
    """int64 (N,) crowd-kit's Dawid-Skene labels (-1 where no vote), or None without crowd-kit
    (not a dependency: ~180 MB of extra packages; the comparison row is skipped then)."""
    try:
        import pandas as pd
        from crowdkit.aggregation import DawidSkene
    except ImportError:
        return None
    frame = pd.DataFrame({"task": votes.item, "worker": votes.annotator, "label": votes.value})
    found = DawidSkene(n_iter=100).fit_predict(frame)
    out = np.full(votes.n_items, -1, dtype=np.int64)
    out[found.index.to_numpy(dtype=np.int64)] = found.to_numpy(dtype=np.int64)
    return out


def run(
    scenario: Scenario,
    truth: np.ndarray,
    given: np.ndarray,
    probs: np.ndarray,
    flagged: np.ndarray,
    rng: np.random.Generator,
) -> None:
    items = np.flatnonzero(flagged) if scenario.only_flagged else None
    votes = simulate_votes(
        truth, scenario.confusions, votes_per_item=scenario.votes_per_item, rng=rng, items=items
    )
    voted = np.zeros(truth.size, dtype=bool)
    voted[votes.item] = True
    print(f"\n== {scenario.name}: {voted.sum()} images voted")
    accuracy = true_accuracy(scenario.confusions, truth)
    print("   true annotator accuracy   " + " ".join(f"{a:5.2f}" for a in accuracy))
    for method in METHODS:
        start = time.perf_counter()
        out = consensus(votes, method=method, pred_probs=probs.copy())
        took = time.perf_counter() - start
        decided = out.method_label[voted]  # the method's pick, ties included (they go to the lead)
        acc = float((decided == truth[voted]).mean())
        agreed = voted & ~out.needs_lead
        agreed_acc = float((out.decision[agreed] == truth[agreed]).mean()) if agreed.any() else 0
        line = (
            f"   {method:<12} consensus accuracy {acc:.3f} on voted images; "
            f"{agreed.sum() / voted.sum():.0%} agreed (no lead) at {agreed_acc:.3f}"
        )
        if scenario.only_flagged:
            line += "; " + dataset_effect(out.decision, out.needs_lead, voted, given, truth)
        print(
            line
            + f"  [{took * 1000:.0f} ms]"
            + (f"  ({'; '.join(out.notes)})" if out.notes else "")
        )
        est = out.annotator_quality
        corr = np.corrcoef(est, accuracy)[0, 1] if np.isfinite(est).all() else float("nan")
        print(
            f"   {'':<12} quality estimates "
            + " ".join(f"{q:5.2f}" for q in est)
            + f"   (correlation with truth {corr:.2f})"
        )
    reference = crowdkit_dawid_skene(votes)
    if reference is not None:
        acc = float((reference[voted] == truth[voted]).mean())
        print(f"   {'crowd-kit DS':<12} consensus accuracy {acc:.3f} on voted images")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", type=float, default=0.1)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    rng = np.random.default_rng(args.seed)
    pixels, truth = load_digit_images()
    given = flip_labels(truth, rate=args.noise, kind="uniform", n_classes=K, rng=rng)
    start = time.perf_counter()
    probs = cv_pred_probs(pixels, given, args.seed)
    print(
        f"{len(truth)} digits, {int((given != truth).sum())} given labels wrong; 5-fold "
        f"logistic regression pred_probs: accuracy {float((probs.argmax(1) == truth).mean()):.3f} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    from cleanlab.filter import find_label_issues

    flagged = find_label_issues(given, probs)
    caught = int((flagged & (given != truth)).sum())
    print(f"cleanlab flags {int(flagged.sum())} images, {caught} of them truly mislabelled")
    for scenario in scenarios():
        run(scenario, truth, given, probs, flagged, rng)
    print(f"\nload average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

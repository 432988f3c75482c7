"""Routing by risk against simulated annotators on the demo digits (issue 12's acceptance).

Usage: python scripts/bench_consensus.py [--seeds 0 1 2] [--noise 0.2] [--quick]

The 1,797 digits of ``core.dataset.demo.load_digit_images``, given labels with ``--noise``
class-pair noise (a digit moved to its look-alike, as the demo plants), out-of-sample pred_probs
from 5-fold cross-validated logistic regression on the given labels ("strong": 8x8 pooled pixels;
"weak": 4x4 pooled pixels and a strong penalty). Simulated annotators vote; the project's own
engine (``core.consensus.states.decide``, with the project's default settings: the default method,
``target_accuracy`` 0.98, ``votes_required`` 3 capped to the team) routes each image: settled,
one more vote (drawn from an annotator who has not voted on it, then routed again), or the lead.

Printed per scenario: the share of images left to the lead, the accuracy of the settled images
against the true digit, the expected accuracy the engine reports for them (the mean estimated
probability, what ``labelaudit consensus`` prints), the calibration error (expected - measured)
and the extra votes asked per image. Scenarios: a pool of six (0.9/0.8/0.7/0.65/0.55 and one
adversarial answering c+1 with p=0.8; 3 votes per image, one more on request), and a team of two
(0.9, 0.8; both vote on every image), each on every image and on the images the scan flags
("in review").
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import numpy as np

from labelaudit.core.consensus.matrix import VoteMatrix
from labelaudit.core.consensus.simulate import confusion_from_accuracy, simulate_votes
from labelaudit.core.consensus.states import Decided, decide
from labelaudit.core.dataset.demo import flip_labels, load_digit_images
from labelaudit.core.settings import SETTINGS

K = 10
DEFAULTS = {key: setting.default for key, setting in SETTINGS.items()}


@dataclass
class Scenario:
    name: str
    confusions: np.ndarray  # (M, K, K)
    votes_per_item: int


def cv_pred_probs(pixels: np.ndarray, labels: np.ndarray, seed: int, *, weak: bool) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pool = 8 if weak else 4  # 32x32 -> 4x4 (weak) or 8x8 (strong) mean-pooled pixels
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, C=0.1))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    n, h, w = pixels.shape
    pooled = pixels.reshape(n, h // pool, pool, w // pool, pool).mean(axis=(2, 4))
    x = pooled.reshape(n, -1).astype(np.float32) / 255.0
    return cross_val_predict(model, x, labels, cv=folds, method="predict_proba")


def adversary(k: int, strength: float) -> np.ndarray:
    """Answers the next class, (c + 1) mod K, with probability ``strength``."""
    out = np.full((k, k), (1 - strength) / (k - 1))
    for c in range(k):
        out[c, (c + 1) % k] = strength
    return out


def scenarios() -> list[Scenario]:
    pool = [confusion_from_accuracy(a, K) for a in (0.9, 0.8, 0.7, 0.65, 0.55)]
    team = [confusion_from_accuracy(a, K) for a in (0.9, 0.8)]
    return [
        Scenario(
            "pool of six (0.9-0.55 + adversarial), 3 votes", np.stack([*pool, adversary(K, 0.8)]), 3
        ),
        Scenario("team of two (0.9, 0.8), both vote", np.stack(team), 2),
    ]


def _add_vote(
    votes: VoteMatrix,
    ask: np.ndarray,
    truth: np.ndarray,
    confusions: np.ndarray,
    rng: np.random.Generator,
) -> VoteMatrix:
    """One more vote on each ``ask`` item, from a random annotator who has not voted on it."""
    m = votes.n_annotators
    voted = np.zeros((votes.n_items, m), dtype=bool)
    voted[votes.item, votes.annotator] = True
    items, annotators = [], []
    for i in np.flatnonzero(ask):
        free = np.flatnonzero(~voted[i])
        if free.size:
            items.append(i)
            annotators.append(int(rng.choice(free)))
    item, who = np.array(items, dtype=np.int64), np.array(annotators, dtype=np.int64)
    rows = confusions[who, truth[item]]
    value = np.minimum(
        (rng.random(item.size)[:, None] > np.cumsum(rows, axis=1)).sum(axis=1), K - 1
    )
    return VoteMatrix(
        np.concatenate([votes.item, item]),
        np.concatenate([votes.annotator, who]),
        np.concatenate([votes.value, value.astype(np.int64)]),
        votes.n_items,
        m,
        K,
    )


def route_until_stable(
    votes: VoteMatrix,
    probs: np.ndarray,
    considered: np.ndarray,
    truth: np.ndarray,
    confusions: np.ndarray,
    rng: np.random.Generator,
) -> tuple[Decided, int]:
    """Route, cast the votes asked for, route again, until nothing asks (the project's loop)."""
    m = votes.n_annotators
    extra = 0
    while True:
        per_item = np.bincount(votes.item, minlength=votes.n_items)
        decided = decide(
            votes,
            method=None,
            pred_probs=probs,
            settings=DEFAULTS,
            required=min(int(DEFAULTS["votes_required"]), m),
            left=m - per_item,
            considered=considered,
            has_vote=per_item > 0,
        )
        ask = decided.route.more_votes & (per_item < m)
        if not ask.any():
            return decided, extra
        votes = _add_vote(votes, ask, truth, confusions, rng)
        extra += int(ask.sum())


@dataclass
class Figures:
    to_lead: float
    settled_acc: float
    expected: float
    extra_per_image: float
    method: str


def run(
    scenario: Scenario,
    truth: np.ndarray,
    probs: np.ndarray,
    items: np.ndarray,
    rng: np.random.Generator,
) -> Figures:
    votes = simulate_votes(
        truth, scenario.confusions, votes_per_item=scenario.votes_per_item, rng=rng, items=items
    )
    considered = np.zeros(truth.size, dtype=bool)
    considered[items] = True
    decided, extra = route_until_stable(votes, probs, considered, truth, scenario.confusions, rng)
    settled = decided.route.settled & considered
    label = decided.result.decision
    right = label[settled] == truth[settled]
    return Figures(
        to_lead=float(decided.route.to_lead[considered].mean()),
        settled_acc=float(right.mean()) if right.size else float("nan"),
        expected=float(np.nanmean(decided.p_right[settled])) if settled.any() else float("nan"),
        extra_per_image=extra / items.size,
        method=decided.result.method,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noise", type=float, default=0.2)
    args = parser.parse_args()
    target, required = DEFAULTS["target_accuracy"], DEFAULTS["votes_required"]
    print(
        f"load average: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs); defaults: "
        f"target_accuracy {target}, votes_required {required}"
    )
    from cleanlab.filter import find_label_issues

    pixels, truth = load_digit_images()
    print(
        "model          seed  scenario                                 images     "
        "to lead  settled right  expected  calib.err  extra votes/img  method"
    )
    for weak in (False, True):
        for seed in args.seeds:
            rng = np.random.default_rng(seed)
            given = flip_labels(truth, rate=args.noise, kind="pairs", n_classes=K, rng=rng)
            start = time.perf_counter()
            probs = cv_pred_probs(pixels, given, seed, weak=weak)
            model_acc = float((probs.argmax(1) == truth).mean())
            flagged = np.flatnonzero(find_label_issues(given, probs))
            tag = f"{'weak' if weak else 'strong'} ({model_acc:.2f})"
            for scenario in scenarios():
                for where, items in (("all", np.arange(truth.size)), ("in review", flagged)):
                    f = run(scenario, truth, probs, items, rng)
                    print(
                        f"{tag:<13} {seed:>2}  {scenario.name[:38]:<38} {where:<9} "
                        f"{items.size:>5}  "
                        f"{f.to_lead:7.1%}  {f.settled_acc:13.2%}  {f.expected:8.2%}  "
                        f"{f.expected - f.settled_acc:+9.2%}  {f.extra_per_image:15.2f}  {f.method}"
                    )
            print(f"   ({time.perf_counter() - start:.0f} s)")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

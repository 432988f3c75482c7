"""The probability that an image's consensus label is right, from all the evidence at once.

The routing (``rules.route``) settles an image when this probability reaches the project's
``target_accuracy``; the methods' own scores are not probabilities (CROWDLAB's consensus quality
is a weighted agreement score, majority's a vote share), so they are not used for it.

Model (one-coin Dawid-Skene with the scan's model as each item's prior):

- item ``i``'s true class ``y`` has the prior ``q[i] ∝ pred_probs[i] ** w`` (the scan's
  out-of-sample probabilities, tempered by ``w``) or, without pred_probs, the class frequencies
  (estimated with one pseudo-image per class);
- annotator ``m`` answers ``y`` with probability ``a[m]`` and any other class with
  ``(1 - a[m]) / (K - 1)``; ``a[m]`` has a Beta prior of mean ``PRIOR_ACCURACY`` worth
  ``PRIOR_STRENGTH`` votes, so a newcomer with three votes is not taken as perfect;
- EM alternates the posterior ``P(y | votes, model)`` and the accuracies ``a``.

Calibration of the model's weight ``w`` on held-out evidence: the annotators' votes are
independent of the out-of-sample pred_probs, so ``w`` is the value (on a grid, 0 = ignore the
model) that maximises the marginal likelihood of the votes. An overconfident model (a high
``pred_probs`` on a class the annotators vote against) gets a small ``w``; a model the annotators
confirm keeps ``w`` near 1. With fewer than ``MIN_FIT_ITEMS`` voted images the fit is noise
(two images could "prove" any weight), so ``w`` stays 1: the out-of-sample probabilities taken
as they are. Where a lead decided an image that also has votes, ``lead_check``
compares the estimate with the lead's decision: the CLI reports that measured accuracy next to
the expected one (it is not fed back, since leads see the hardest images).

Arrays: ``N`` items, ``M`` annotators, ``K`` classes, ``V`` class votes (``VoteMatrix`` without
drop). Pure numpy; no store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelaudit.core.consensus.matrix import VoteMatrix

PRIOR_ACCURACY = 0.85
PRIOR_STRENGTH = 4.0
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
FLOOR = 1e-4  # no class is ever impossible under the model prior
EM_ITERATIONS = 30
CLASS_PSEUDO_COUNT = 1.0  # Dirichlet prior on the class frequencies (no model)
MIN_FIT_ITEMS = 30  # voted images needed before the model's weight is fitted


@dataclass(frozen=True)
class Evidence:
    """``posterior`` float64 (N, K): P(true class | votes, model), rows of nan without votes;
    ``accuracy`` float64 (M,): each annotator's estimated accuracy (the prior where no vote);
    ``model_weight``: the fitted ``w`` (nan without pred_probs)."""

    posterior: np.ndarray
    accuracy: np.ndarray
    model_weight: float

    def best(self) -> tuple[np.ndarray, np.ndarray]:
        """(label int64 (N,), probability float64 (N,)): the most likely class of each item
        and its posterior; -1 and nan where there is no estimate (no class vote)."""
        known = ~np.isnan(self.posterior).any(axis=1)
        filled = np.where(known[:, None], self.posterior, -1.0)
        label = np.where(known, filled.argmax(axis=1), -1).astype(np.int64)
        return label, np.where(known, filled.max(axis=1), np.nan)

    def p_right(self, label: np.ndarray) -> np.ndarray:
        """float64 (N,): the probability that ``label`` (int64 (N,), -1 none) is right."""
        rows = np.arange(label.shape[0])
        p = self.posterior[rows, np.maximum(label, 0)]
        return np.where(label >= 0, p, np.nan)


def _log_prior(pred_probs: np.ndarray | None, weight: float, n: int, k: int) -> np.ndarray:
    """float64 (N, K): log of the item priors (uniform rows where pred_probs are unknown)."""
    if pred_probs is None or weight == 0.0:
        return np.full((n, k), -np.log(k))
    probs = np.where(np.isfinite(pred_probs), pred_probs, 1.0 / k).astype(np.float64)
    probs = np.clip(probs, 0.0, None) + 1e-12
    tempered = np.exp(weight * np.log(probs / probs.sum(axis=1, keepdims=True)))
    tempered /= tempered.sum(axis=1, keepdims=True)
    return np.log((1.0 - FLOOR) * tempered + FLOOR / k)


def _log_likelihood(votes: VoteMatrix, accuracy: np.ndarray) -> np.ndarray:
    """float64 (N, K): log P(the item's votes | true class k)."""
    k = votes.n_classes
    a = np.clip(accuracy, 1e-4, 1 - 1e-4)
    wrong = np.log((1.0 - a) / max(k - 1, 1))
    out = np.zeros((votes.n_items, k))
    np.add.at(out, votes.item, wrong[votes.annotator][:, None])
    np.add.at(out, (votes.item, votes.value), np.log(a)[votes.annotator] - wrong[votes.annotator])
    return out


def _normalise(log_joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(posterior (N, K), log marginal (N,)) of a log joint."""
    top = log_joint.max(axis=1, keepdims=True)
    joint = np.exp(log_joint - top)
    total = joint.sum(axis=1, keepdims=True)
    return joint / total, (np.log(total) + top)[:, 0]


def _accuracies(votes: VoteMatrix, posterior: np.ndarray) -> np.ndarray:
    hits = np.zeros(votes.n_annotators)
    totals = np.zeros(votes.n_annotators)
    np.add.at(totals, votes.annotator, 1.0)
    np.add.at(hits, votes.annotator, posterior[votes.item, votes.value])
    return (hits + PRIOR_ACCURACY * PRIOR_STRENGTH) / (totals + PRIOR_STRENGTH)


def _em(
    votes: VoteMatrix, log_prior: np.ndarray, class_prior: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    """(posterior, accuracy, total log marginal of the voted items) after EM."""
    voted = np.bincount(votes.item, minlength=votes.n_items) > 0
    accuracy = np.full(votes.n_annotators, PRIOR_ACCURACY)
    prior = log_prior
    posterior, marginal = _normalise(prior + _log_likelihood(votes, accuracy))
    for _ in range(EM_ITERATIONS):
        accuracy = _accuracies(votes, posterior)
        if class_prior and voted.any():  # without a model: learn the class frequencies,
            # with one pseudo-image per class (else a few images make one class certain)
            freq = posterior[voted].sum(axis=0) + CLASS_PSEUDO_COUNT
            prior = np.tile(np.log(freq / freq.sum()), (votes.n_items, 1))
        posterior, marginal = _normalise(prior + _log_likelihood(votes, accuracy))
    return posterior, accuracy, float(marginal[voted].sum())


def estimate(votes: VoteMatrix, *, pred_probs: np.ndarray | None = None) -> Evidence:
    """The posterior of every item's class from its class votes (``votes`` holds no drop value)
    and, when given, the scan's out-of-sample ``pred_probs`` float (N, K) (nan rows: unknown)."""
    n, k = votes.n_items, votes.n_classes
    voted = np.bincount(votes.item, minlength=n) > 0
    if pred_probs is None:
        posterior, accuracy, _ = _em(votes, _log_prior(None, 0.0, n, k), True)
        weight = float("nan")
    else:
        grid = WEIGHTS if voted.sum() >= MIN_FIT_ITEMS else (1.0,)
        fits = [(_em(votes, _log_prior(pred_probs, w, n, k), False), w) for w in grid]
        (posterior, accuracy, _), weight = max(fits, key=lambda fit: fit[0][2])
    posterior = np.where(voted[:, None], posterior, np.nan)
    return Evidence(posterior, accuracy, weight)


@dataclass(frozen=True)
class Calibration:
    """What the CLI prints: the expected accuracy of the settled images and how many of them
    are expected wrong; the lead check where leads decided images that also have votes."""

    settled: int
    expected_accuracy: float  # nan when nothing is settled
    expected_wrong: float
    lead_checked: int  # images a lead decided that have an estimate
    lead_expected: float  # mean estimated probability there
    lead_measured: float  # share of them where the lead chose the estimated label


def calibration(
    p_right: np.ndarray,
    settled: np.ndarray,
    *,
    label: np.ndarray,
    lead_decision: np.ndarray,
) -> Calibration:
    """Expected accuracy of ``settled`` (bool (N,)) images from ``p_right`` (float (N,)), and the
    check against the lead's decisions (``lead_decision`` int64 (N,), a class index or < 0)."""
    p = p_right[settled & np.isfinite(p_right)]
    checked = (lead_decision >= 0) & (label >= 0) & np.isfinite(p_right)
    return Calibration(
        settled=int(settled.sum()),
        expected_accuracy=float(p.mean()) if p.size else float("nan"),
        expected_wrong=float((1.0 - p).sum()),
        lead_checked=int(checked.sum()),
        lead_expected=float(p_right[checked].mean()) if checked.any() else float("nan"),
        lead_measured=(
            float((label[checked] == lead_decision[checked]).mean())
            if checked.any()
            else float("nan")
        ),
    )

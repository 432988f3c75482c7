"""Dawid-Skene (1979): EM over one confusion matrix per annotator, in numpy.

Model: item ``i`` has a hidden true class drawn from priors ``pi`` (K,); annotator ``m`` answers
class ``l`` for true class ``k`` with probability ``theta[m, k, l]``. EM alternates
- E-step: ``T[i, k] ∝ pi[k] * prod over votes (m, l) on i of theta[m, k, l]``,
- M-step: ``pi = mean(T)``, ``theta[m, k, l] ∝ alpha + sum of T[i, k] over m's votes l on i``,
starting from the (soft) majority vote. ``alpha`` is Dirichlet smoothing so a class an annotator
never saw does not get probability zero. The consensus is ``argmax T``, its quality the posterior
``max T``; an annotator's quality is the expected share of their votes that are right,
``mean of T[i, l]`` over their votes.
"""

from __future__ import annotations

import numpy as np

from labelaudit.core.consensus.decisions import NO_DECISION
from labelaudit.core.consensus.matrix import ClassConsensus, VoteMatrix


def _m_step(
    votes: VoteMatrix, posterior: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    k = votes.n_classes
    priors = posterior.sum(axis=0) + alpha
    priors /= priors.sum()
    # confusion[m, l, k] accumulates posterior[i, k] for each vote (m, l) on item i.
    confusion = np.full((votes.n_annotators, k, k), alpha)
    np.add.at(confusion, (votes.annotator, votes.value), posterior[votes.item])
    confusion = confusion.transpose(0, 2, 1)  # -> [m, true k, answered l]
    confusion /= confusion.sum(axis=2, keepdims=True)
    return priors, confusion


def _e_step(
    votes: VoteMatrix, priors: np.ndarray, confusion: np.ndarray, voted: np.ndarray
) -> np.ndarray:
    log_post = np.tile(np.log(priors), (votes.n_items, 1))
    log_conf = np.log(confusion)  # [m, k, l]
    np.add.at(log_post, votes.item, log_conf[votes.annotator, :, votes.value])
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    post /= post.sum(axis=1, keepdims=True)
    post[~voted] = 0.0
    return post


def dawid_skene(
    votes: VoteMatrix, *, alpha: float = 0.01, max_iter: int = 200, tol: float = 1e-6
) -> ClassConsensus:
    """Dawid-Skene consensus of class votes (``votes`` must hold no drop values).

    ``details`` of the result: ``confusion`` float64 (M, K, K) ``[annotator, true, answered]``,
    ``priors`` float64 (K,), ``posterior`` float64 (N, K) (zero rows for items without votes),
    ``iterations``.
    """
    n_items, k = votes.n_items, votes.n_classes
    voted = np.zeros(n_items, dtype=bool)
    voted[votes.item] = True
    counts = np.zeros((n_items, k))
    np.add.at(counts, (votes.item, votes.value), 1.0)
    posterior = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    priors, confusion = _m_step(votes, posterior, alpha)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (reported in details)
        new_posterior = _e_step(votes, priors, confusion, voted)
        priors, confusion = _m_step(votes, new_posterior, alpha)
        change = float(np.abs(new_posterior - posterior).max()) if n_items else 0.0
        posterior = new_posterior
        if change < tol:
            break
    label = np.where(voted, posterior.argmax(axis=1), NO_DECISION).astype(np.int64)
    quality = np.where(voted, posterior.max(axis=1), np.nan)
    hits = np.zeros(votes.n_annotators)
    totals = np.zeros(votes.n_annotators)
    np.add.at(totals, votes.annotator, 1.0)
    np.add.at(hits, votes.annotator, posterior[votes.item, votes.value])
    with np.errstate(invalid="ignore", divide="ignore"):
        annotator_quality = np.where(totals > 0, hits / np.maximum(totals, 1.0), np.nan)
    result = ClassConsensus(label, quality, annotator_quality, "dawid-skene")
    result.details = {
        "confusion": confusion,
        "priors": priors,
        "posterior": posterior,
        "iterations": iterations,
    }
    return result

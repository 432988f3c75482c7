"""Per-image label checks: thin typed wrappers over ``cleanlab.filter`` and ``cleanlab.rank``.

Vocabulary (cleanlab's): N images, K classes; ``labels`` int (N,) given class indices in 0..K-1;
``pred_probs`` float (N, K) out-of-sample predicted probabilities, rows summing to 1.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from labelaudit.core.errors import InputError

# cleanlab.filter.find_label_issues ``filter_by`` values; the default is cleanlab's.
FILTER_METHODS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
)
# cleanlab.rank.get_label_quality_scores ``method`` values.
QUALITY_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")


@contextmanager
def quiet_cleanlab() -> Iterator[None]:
    """Silence cleanlab's UserWarnings (e.g. "class k has too few examples"): the summary reports
    small and empty classes in plain words, and the CLI's stderr stays one line per problem."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="cleanlab")
        yield


def check_method(value: str, allowed: tuple[str, ...], *, option: str) -> str:
    if value not in allowed:
        raise InputError(f"unknown {option} {value!r}; choose one of {', '.join(allowed)}")
    return value


def confident_joint(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """int64 (K, K) calibrated confident joint: rows = given class, columns = likely class.

    Computed once and shared by the issue filter and the dataset-level estimates (at N = 10^6 it
    is a full pass over ``pred_probs``).
    """
    from cleanlab.count import compute_confident_joint

    joint = compute_confident_joint(labels, pred_probs)
    return np.asarray(joint, dtype=np.int64)


def find_label_issues(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    *,
    filter_by: str = "prune_by_noise_rate",
    confident_joint: np.ndarray | None = None,
) -> np.ndarray:
    """bool (N,): cleanlab's verdict that the given label is likely wrong.

    ``n_jobs=1``: cleanlab's process pool forks, which is unsafe in a process that holds torch
    threads, and on 10^6 x 100 it saves little (2.3 s against 2.6 s single-process here).
    """
    from cleanlab.filter import find_label_issues as cl_find_label_issues

    check_method(filter_by, FILTER_METHODS, option="--filter-by")
    joint = None if filter_by == "confident_learning" else confident_joint
    with quiet_cleanlab():
        mask = cl_find_label_issues(
            labels, pred_probs, filter_by=filter_by, confident_joint=joint, n_jobs=1
        )
    return np.asarray(mask, dtype=bool)


def label_quality_scores(
    labels: np.ndarray, pred_probs: np.ndarray, *, method: str = "self_confidence"
) -> np.ndarray:
    """float32 (N,) in [0, 1]: how likely the given label is right (low = likely wrong)."""
    from cleanlab.rank import get_label_quality_scores

    check_method(method, QUALITY_METHODS, option="--quality-method")
    scores = get_label_quality_scores(labels, pred_probs, method=method)
    return np.asarray(scores, dtype=np.float32)


def suggested_labels(pred_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int64 (N,) most likely class, float32 (N,) its probability)."""
    suggested = np.argmax(pred_probs, axis=1).astype(np.int64)
    prob = np.take_along_axis(pred_probs, suggested[:, None], axis=1)[:, 0]
    return suggested, prob.astype(np.float32)

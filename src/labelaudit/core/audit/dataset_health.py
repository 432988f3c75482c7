"""Dataset-level findings: label health, per-class noise, overlapping classes, imbalance.

Wrappers over ``cleanlab.count`` and ``cleanlab.dataset``. cleanlab's calibrated joint and noise
rates are *estimates* of how labels and true classes co-occur, not sets of images: they are
reported as numbers. Shapes: N images, K classes, ``joint`` (K, K) rows = given class, columns =
likely (true) class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# A pair of classes is reported as overlapping when cleanlab estimates at least this many
# mislabelled-between examples, and at least OVERLAP_MIN_SHARE of the smaller class.
OVERLAP_MIN_EXAMPLES = 2
OVERLAP_MIN_SHARE = 0.05
MAX_OVERLAPS = 10


def estimate_joint(
    labels: np.ndarray, pred_probs: np.ndarray, *, confident_joint: np.ndarray
) -> np.ndarray:
    """float64 (K, K) calibrated estimate of P(given label = i, true label = j); sums to 1."""
    from cleanlab.count import estimate_joint as cl_estimate_joint

    return np.asarray(
        cl_estimate_joint(labels, pred_probs, confident_joint=confident_joint), dtype=np.float64
    )


def label_health(labels: np.ndarray, pred_probs: np.ndarray) -> float:
    """cleanlab's overall label health score in [0, 1]: 1 - (estimated label issues) / N.

    cleanlab recounts its (uncalibrated) confident joint here and ignores a supplied one.
    """
    from cleanlab.dataset import overall_label_health_score

    return float(overall_label_health_score(labels, pred_probs, verbose=False))


def class_noise_rates(joint: np.ndarray, *, n_examples: int) -> dict[str, np.ndarray]:
    """Per class k (index order): ``label_noise`` P(true != k | given k), ``inverse_noise``
    P(given != k | true k), and ``estimated_issues`` (label_noise x images given k)."""
    from cleanlab.dataset import rank_classes_by_label_quality

    table = rank_classes_by_label_quality(joint=joint, num_examples=n_examples)
    table = table.sort_values("Class Index")
    return {
        "label_noise": table["Label Noise"].to_numpy(dtype=np.float64),
        "inverse_noise": table["Inverse Label Noise"].to_numpy(dtype=np.float64),
        "estimated_issues": table["Label Issues"].to_numpy(dtype=np.int64),
    }


def overlapping_classes(
    joint: np.ndarray, *, n_examples: int, class_counts: np.ndarray, class_names: list[str]
) -> list[dict[str, Any]]:
    """Pairs of classes that get confused (cleanlab.dataset.find_overlapping_classes), largest
    first, kept when the estimated overlap is at least OVERLAP_MIN_EXAMPLES images and
    OVERLAP_MIN_SHARE of the smaller class: candidates to merge or to define more clearly."""
    from cleanlab.dataset import find_overlapping_classes

    table = find_overlapping_classes(joint=joint, num_examples=n_examples)
    found: list[dict[str, Any]] = []
    for a, b, n_overlap, prob in table[
        ["Class Index A", "Class Index B", "Num Overlapping Examples", "Joint Probability"]
    ].itertuples(index=False):
        smaller = max(1, int(min(class_counts[a], class_counts[b])))
        if n_overlap < OVERLAP_MIN_EXAMPLES or n_overlap < OVERLAP_MIN_SHARE * smaller:
            continue
        found.append(
            {
                "a": class_names[int(a)],
                "b": class_names[int(b)],
                "overlap": int(n_overlap),
                "joint_probability": round(float(prob), 6),
                "share_of_smaller": round(float(n_overlap) / smaller, 4),
            }
        )
        if len(found) >= MAX_OVERLAPS:
            break
    return found


def class_imbalance(class_counts: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    """Images per class, the largest and smallest non-empty class and their ratio."""
    counts = {name: int(n) for name, n in zip(class_names, class_counts, strict=True)}
    present = [(int(n), name) for name, n in counts.items() if n > 0]
    largest = max(present)
    smallest = min(present)
    return {
        "counts": counts,
        "largest": {"class": largest[1], "images": largest[0]},
        "smallest": {"class": smallest[1], "images": smallest[0]},
        "ratio": round(largest[0] / smallest[0], 3),
        "empty_classes": [name for name, n in counts.items() if n == 0],
    }

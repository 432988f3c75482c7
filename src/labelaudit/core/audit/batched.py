"""The per-image label checks over ``pred_probs`` read in row chunks, for arrays too big to copy.

cleanlab's in-memory ``find_label_issues`` copies ``pred_probs`` (grouped by class) and its
helpers copy it again: 1M x 100 (400 MB) peaked at 1.4 GB (docs/benchmarks.md). Above
``AuditOptions.batch_above_mb`` the audit reads ``pred_probs`` in chunks of ``CHUNK_MB`` (a .npy
memory map is read with plain file reads, so the pages read do not stay in this process) and:

- pass 1: cleanlab's confident thresholds (the mean probability of each class over its images);
- pass 2: per row, the confident-joint guess (``cleanlab.count.compute_confident_joint``'s rule),
  cleanlab's "prediction is close to the given label" reduction, quality scores and suggestions;
  the counts give the calibrated confident joint and the label health score exactly;
- the flagged set. ``prune_by_noise_rate`` (the default), ``prune_by_class`` and ``both`` decide
  each class from its own rows and the confident joint, so cleanlab's own ``find_label_issues``
  runs on groups of classes whose rows fit ``GROUP_MB`` (sorted by class into a temporary file
  first when there are several groups): the same set as in memory. ``predicted_neq_given`` and
  ``confident_learning`` are row-wise given the thresholds. ``low_self_confidence`` and
  ``low_normalized_margin`` rank all rows: they use cleanlab's ``LabelInspector``, the engine of
  ``cleanlab.experimental.label_issues_batched.find_label_issues_batched``, with that function's
  steps (it copies the whole array once at its end, so it is not called itself); cleanlab says it
  approximates the in-memory result closely (its count of issues may differ by rounding).

Memory: the per-image arrays (about 40 bytes per image) plus a few chunks, plus about three
copies of the largest class group (at least two classes: cleanlab refuses fewer).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelaudit.core.audit import label_issues as label_checks
from labelaudit.core.rowfile import read_rows, whole_file, write_rows_at
from labelaudit.core.scratch import scratch

CHUNK_MB = 64  # rows read at a time
GROUP_MB = 128  # rows of a class group handed to cleanlab's find_label_issues at once
BY_CLASS = ("prune_by_noise_rate", "prune_by_class", "both")
RANKED = ("low_self_confidence", "low_normalized_margin")
MARGIN = 1e-6  # cleanlab.internal.constants.FLOATING_POINT_COMPARISON
LOWEST_THRESHOLD = 2e-6  # cleanlab.internal.constants.CONFIDENT_THRESHOLDS_LOWER_BOUND


class Rows:
    """Blocks of rows of a 2-D array in memory, or of a whole .npy memory map read from its file
    (so that the pages read are not kept in this process's resident memory)."""

    def __init__(self, array: np.ndarray, *, chunk_mb: float = CHUNK_MB) -> None:
        self.array = array
        self.n, self.k = int(array.shape[0]), int(array.shape[1])
        self.rows = max(1, int(chunk_mb * 2**20 // (4 * max(self.k, 1))))
        self.file = whole_file(array)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, self.n, self.rows):
            yield start, self.read(start, min(start + self.rows, self.n))

    def read(self, start: int, stop: int) -> np.ndarray:
        """float32 (stop - start, K), an in-memory copy."""
        return read_rows(self.array, start, stop).astype(np.float32, copy=False)


@dataclass
class BatchedLabels:
    per_image: dict[str, np.ndarray]  # suggested, suggested_prob, label_quality, is_label_issue
    confident_joint: np.ndarray  # int64 (K, K), calibrated
    health: float  # cleanlab's overall label health score
    info: dict[str, Any]  # chunk rows, class groups, what was computed how


def label_arrays(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    *,
    filter_by: str,
    quality_method: str,
    chunk_mb: float = CHUNK_MB,
    group_mb: float = GROUP_MB,
) -> BatchedLabels:
    """What ``analyze._label_arrays`` and the health score compute, in chunks."""
    rows = Rows(pred_probs, chunk_mb=chunk_mb)
    k = rows.k
    thresholds = confident_thresholds(labels, rows)
    n = rows.n
    suggested = np.empty(n, dtype=np.int64)
    suggested_prob = np.empty(n, dtype=np.float32)
    quality = np.empty(n, dtype=np.float32)
    close = np.empty(n, dtype=bool)  # cleanlab's _reduce_issues: never flagged
    off_diagonal = np.empty(n, dtype=bool)
    counts = np.zeros(k * k, dtype=np.int64)
    for start, block in rows:
        lab = labels[start : start + len(block)]
        part = slice(start, start + len(block))
        guess, confident = _guess(block, thresholds)
        counts += np.bincount(lab[confident] * k + guess[confident], minlength=k * k)
        off_diagonal[part] = confident & (guess != lab)
        close[part] = _close_to_given(block, lab)
        suggested[part], suggested_prob[part] = label_checks.suggested_labels(block)
        quality[part] = label_checks.label_quality_scores(lab, block, method=quality_method)
    joint = _calibrated(counts.reshape(k, k), labels)
    health = 1 - int(np.sum(off_diagonal & ~close)) / max(n, 1)
    mask, how = _flag(
        labels, rows, joint, thresholds, off_diagonal, close, filter_by=filter_by, group_mb=group_mb
    )
    per_image: dict[str, np.ndarray] = {
        "suggested": suggested,
        "suggested_prob": suggested_prob,
        "label_quality": quality,
        "is_label_issue": mask,
    }
    info = {"chunk_rows": rows.rows, "read_from_file": rows.file is not None, **how}
    return BatchedLabels(per_image, joint, float(health), info)


def confident_thresholds(labels: np.ndarray, rows: Rows) -> np.ndarray:
    """cleanlab.count.get_confident_thresholds: per class, the mean probability of the class over
    the images given it (2, never reached, for an empty class), at least 2e-6."""
    k = rows.k
    sums = np.zeros(k, dtype=np.float64)
    for start, block in rows:
        lab = labels[start : start + len(block)]
        sums += np.bincount(lab, weights=block[np.arange(len(block)), lab], minlength=k)
    counts = np.bincount(labels, minlength=k)[:k]
    means = (sums / np.maximum(counts, 1)).astype(np.float32)  # cleanlab's mean is float32 too
    thresholds = np.where(counts > 0, means.astype(np.float64), 2.0)
    return np.clip(thresholds, LOWEST_THRESHOLD, None)


def _guess(block: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the confident joint's class guess per row, whether any class is confident)."""
    above = block >= thresholds - MARGIN
    n_above = above.sum(axis=1)
    guess = np.where(n_above > 1, block.argmax(axis=1), above.argmax(axis=1))
    return guess, n_above > 0


def _close_to_given(block: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """cleanlab.count._reduce_issues: the given label wins the argmax when nudged by 1e-6."""
    nudged = block.copy()
    nudged[np.arange(len(labels)), labels] += MARGIN
    return np.asarray(nudged.argmax(axis=1) == labels)


def _calibrated(counts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    from cleanlab.count import calibrate_confident_joint

    np.fill_diagonal(counts, counts.diagonal().clip(min=1))  # as compute_confident_joint does
    return np.asarray(calibrate_confident_joint(counts, labels), dtype=np.int64)


def _flag(
    labels: np.ndarray,
    rows: Rows,
    joint: np.ndarray,
    thresholds: np.ndarray,
    off_diagonal: np.ndarray,
    close: np.ndarray,
    *,
    filter_by: str,
    group_mb: float,
) -> tuple[np.ndarray, dict[str, Any]]:
    label_checks.check_method(filter_by, label_checks.FILTER_METHODS, option="--filter-by")
    if filter_by in BY_CLASS:
        mask, groups = by_class_groups(labels, rows, joint, filter_by=filter_by, group_mb=group_mb)
        return mask, {"flagged_by": "cleanlab find_label_issues per class group", **groups}
    if filter_by in RANKED:
        return ranked(labels, rows, filter_by=filter_by) & ~close, {
            "flagged_by": "cleanlab LabelInspector (find_label_issues_batched's steps)"
        }
    if filter_by == "confident_learning":
        return off_diagonal & ~close, {"flagged_by": "confident joint's off-diagonal rows"}
    mask = np.empty(rows.n, dtype=bool)  # predicted_neq_given: row by row
    for start, block in rows:
        mask[start : start + len(block)] = (
            block.argmax(axis=1) != labels[start : start + len(block)]
        )
    return mask & ~close, {"flagged_by": "argmax != given label"}


def ranked(labels: np.ndarray, rows: Rows, *, filter_by: str) -> np.ndarray:
    """find_label_issues_batched's steps: thresholds, scores, the lowest ``num_issues`` scores."""
    from cleanlab.experimental.label_issues_batched import LabelInspector
    from cleanlab.rank import find_top_issues

    inspector = LabelInspector(
        num_class=rows.k,
        store_results=False,  # it would keep every score as a Python float
        verbose=False,
        n_jobs=1,
        quality_score_kwargs={"method": filter_by[len("low_") :]},
    )
    for start, block in rows:
        inspector.update_confident_thresholds(labels[start : start + len(block)], block)
    scores: np.ndarray | None = None
    for start, block in rows:
        part = inspector.score_label_quality(labels[start : start + len(block)], block)
        if scores is None:
            scores = np.empty(rows.n, dtype=np.asarray(part).dtype)
        scores[start : start + len(block)] = part
    mask = np.zeros(rows.n, dtype=bool)
    if scores is not None:
        mask[find_top_issues(scores, top=inspector.get_num_issues(silent=True))] = True
    return mask


def class_groups(counts: np.ndarray, k: int, *, group_mb: float = GROUP_MB) -> list[np.ndarray]:
    """Consecutive classes whose rows (float32) fit ``group_mb`` together, each group with at
    least two classes that have images (cleanlab refuses labels of a single class)."""
    budget = max(1, int(group_mb * 2**20 // (4 * k)))
    groups: list[list[int]] = []
    current: list[int] = []
    size = present = 0
    for c in range(len(counts)):
        if present >= 2 and size + counts[c] > budget:
            groups.append(current)
            current, size, present = [], 0, 0
        current.append(c)
        size += int(counts[c])
        present += int(counts[c] > 0)
    if groups and present < 2:  # too few classes left for a group of their own
        groups[-1] += current
    elif current:
        groups.append(current)
    return [np.array(g) for g in groups]


def by_class_groups(
    labels: np.ndarray, rows: Rows, joint: np.ndarray, *, filter_by: str, group_mb: float = GROUP_MB
) -> tuple[np.ndarray, dict[str, Any]]:
    """cleanlab's find_label_issues on each group of classes, given the whole confident joint."""
    counts = np.bincount(labels, minlength=rows.k)
    groups = class_groups(counts, rows.k, group_mb=group_mb)
    order = np.argsort(labels, kind="stable")  # rows by class, in index order within a class
    ends = np.cumsum(counts)
    mask = np.zeros(rows.n, dtype=bool)
    with _sorted_by_class(labels, rows, order, several=len(groups) > 1) as source:
        for group in groups:
            lo, hi = int(ends[group[0]] - counts[group[0]]), int(ends[group[-1]])
            if hi == lo:
                continue
            index = order[lo:hi]
            block = source(lo, hi)
            mask[index] = label_checks.find_label_issues(
                labels[index], block, filter_by=filter_by, confident_joint=joint
            )
    return mask, {"class_groups": len(groups)}


@contextmanager
def _sorted_by_class(
    labels: np.ndarray, rows: Rows, order: np.ndarray, *, several: bool
) -> Iterator[Callable[[int, int], np.ndarray]]:
    """A reader of rows ``order[lo:hi]`` (float32): gathered in one pass over ``rows`` per call,
    or, for several groups, from a temporary copy sorted by class (one write, then slices) when
    the temporary folder has room for it."""
    position = np.empty(rows.n, dtype=np.int64)
    position[order] = np.arange(rows.n)
    folder = tempfile.gettempdir()
    row_bytes = 4 * rows.k
    if not several or shutil.disk_usage(folder).free < 1.2 * rows.n * row_bytes:
        yield lambda lo, hi: _gather(rows, position, lo, hi)
        return
    with scratch("labelaudit-audit-", parent=folder) as tmp:
        path = os.path.join(tmp, "pred_probs_by_class.f32")
        # each chunk's rows of one class are consecutive in the sorted order: one write each
        write_rows_at(rows, position, path, n=rows.n, k=rows.k)
        yield lambda lo, hi: np.fromfile(
            path, dtype=np.float32, count=(hi - lo) * rows.k, offset=lo * row_bytes
        ).reshape(hi - lo, rows.k)


def _gather(rows: Rows, position: np.ndarray, lo: int, hi: int) -> np.ndarray:
    out = np.empty((hi - lo, rows.k), dtype=np.float32)
    for start, block in rows:
        p = position[start : start + len(block)]
        inside = (p >= lo) & (p < hi)
        out[p[inside] - lo] = block[inside]
    return out

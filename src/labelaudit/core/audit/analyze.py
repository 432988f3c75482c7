"""The whole audit of one set of predictions: per-image arrays plus dataset-level findings.

Input (cleanlab's vocabulary): ``labels`` int64 (N,), ``pred_probs`` float32 (N, K), optional
``embeddings`` float32 (N, D), ``dup_group`` int64 (N,) exact-duplicate groups (-1 = unique).
Output arrays use the names documented in ``results.py``.

Classes with fewer than ``min_class_size`` images are too small for cleanlab's per-class
thresholds: their images get no label-issue flag (``excluded``) and the summary names them.
Near-duplicate and outlier flags still apply to them. Image-property flags (dark, light, blurry,
odd_size; ``image_quality``) come from the import's measurements when ``image_properties`` is given.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelaudit.core.audit import dataset_health, image_quality, similarity
from labelaudit.core.audit import label_issues as label_checks
from labelaudit.core.codes import Issue
from labelaudit.core.progress import NullProgress, Progress
from labelaudit.core.scan_summary import (
    AuditSummary,
    ClassIssues,
    Duplicates,
    GroupStats,
    NearDuplicates,
)

BATCH_ABOVE_MB = 512.0


@dataclass(frozen=True)
class AuditOptions:
    filter_by: str = "prune_by_noise_rate"
    quality_method: str = "self_confidence"
    min_class_size: int = 5
    # pred_probs above this many MB are audited in row chunks (audit.batched): cleanlab's
    # in-memory path needs about 3.5x the array (1.4 GB for 1M x 100 float32)
    batch_above_mb: float = BATCH_ABOVE_MB

    def as_json(self) -> dict[str, Any]:
        return {
            "filter_by": self.filter_by,
            "quality_method": self.quality_method,
            "min_class_size": self.min_class_size,
            "batch_above_mb": self.batch_above_mb,
        }


@dataclass
class AuditResult:
    arrays: dict[str, np.ndarray]  # per image, aligned with image_ids (results.py names)
    class_arrays: dict[str, np.ndarray]  # (K, K): confident_joint, joint
    summary: AuditSummary
    timings: dict[str, float] = field(default_factory=dict)


def audit_predictions(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    *,
    image_ids: np.ndarray,
    class_names: list[str],
    options: AuditOptions,
    embeddings: np.ndarray | None = None,
    dup_group: np.ndarray | None = None,
    image_properties: image_quality.ImageProperties | None = None,
    progress: Progress | None = None,
) -> AuditResult:
    """Run cleanlab's label checks, the dataset-level estimates and the similarity checks."""
    progress = progress or NullProgress()
    label_checks.check_method(options.filter_by, label_checks.FILTER_METHODS, option="--filter-by")
    label_checks.check_method(
        options.quality_method, label_checks.QUALITY_METHODS, option="--quality-method"
    )
    timings: dict[str, float] = {}
    n = labels.shape[0]
    dup_group = dup_group if dup_group is not None else np.full(n, -1, dtype=np.int64)
    with progress.step("audit", total=3), label_checks.quiet_cleanlab():
        start = time.perf_counter()
        batched = pred_probs.nbytes > options.batch_above_mb * 2**20
        health: float | None = None
        if batched:
            per_image, joint_counts, health, method = _batched_label_arrays(
                labels, pred_probs, options
            )
        else:
            per_image, joint_counts = _label_arrays(labels, pred_probs, options)
            method = {"batched": False}
        timings["label_issues_s"] = time.perf_counter() - start
        progress.advance()
        start = time.perf_counter()
        dataset = _dataset_findings(labels, pred_probs, joint_counts, class_names, health=health)
        timings["dataset_level_s"] = time.perf_counter() - start
        progress.advance()
        start = time.perf_counter()
        found = similarity.find_similarity_issues(embeddings, dup_group)
        timings["similarity_s"] = time.perf_counter() - start
        progress.advance()
    counts = np.bincount(labels, minlength=len(class_names))
    small = (counts > 0) & (counts < options.min_class_size)
    excluded = small[labels]
    per_image["is_label_issue"] &= ~excluded
    quality = (
        None if image_properties is None else image_quality.find_image_issues(image_properties)
    )
    arrays = {
        "image_ids": np.asarray(image_ids, dtype=np.int64),
        "labels": np.asarray(labels, dtype=np.int64),
        "pred_probs": pred_probs,
        **per_image,
        "issue_flags": _issue_flags(per_image["is_label_issue"], found),
        "near_dup_group": found.near_dup_group,
        "excluded": excluded,
    }
    if found.outlier_score is not None:
        arrays["outlier_score"] = found.outlier_score
    if embeddings is not None:
        arrays["embeddings"] = np.asarray(embeddings, dtype=np.float32)
    summary = _summary(arrays, dataset, found, dup_group, counts, small, class_names, options)
    summary["audit_method"] = method
    peak = peak_rss_mb()
    if peak is not None:  # the process's peak so far: a CV scan's includes its training
        timings["peak_rss_mb"] = peak
    if quality is not None:
        arrays["issue_flags"] |= quality.flags
        summary["image_quality"] = quality.summary
    return AuditResult(arrays, dataset.pop("class_arrays"), summary, timings)


def _label_arrays(
    labels: np.ndarray, pred_probs: np.ndarray, options: AuditOptions
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    joint_counts = label_checks.confident_joint(labels, pred_probs)
    issues = label_checks.find_label_issues(
        labels, pred_probs, filter_by=options.filter_by, confident_joint=joint_counts
    )
    quality = label_checks.label_quality_scores(labels, pred_probs, method=options.quality_method)
    suggested, suggested_prob = label_checks.suggested_labels(pred_probs)
    per_image = {
        "suggested": suggested,
        "suggested_prob": suggested_prob,
        "label_quality": quality,
        "is_label_issue": issues,
    }
    return per_image, joint_counts


def _batched_label_arrays(
    labels: np.ndarray, pred_probs: np.ndarray, options: AuditOptions
) -> tuple[dict[str, np.ndarray], np.ndarray, float, dict[str, Any]]:
    from labelaudit.core.audit import batched

    found = batched.label_arrays(
        labels, pred_probs, filter_by=options.filter_by, quality_method=options.quality_method
    )
    method = {"batched": True, "pred_probs_mb": round(pred_probs.nbytes / 2**20, 1), **found.info}
    return found.per_image, found.confident_joint, found.health, method


def peak_rss_mb() -> float | None:
    """This process's peak resident memory so far (MB), where the platform reports it."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)  # bytes on macOS


def _dataset_findings(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    joint_counts: np.ndarray,
    class_names: list[str],
    *,
    health: float | None = None,
) -> dict[str, Any]:
    """Health (computed here unless given), per-class noise, overlaps, imbalance."""
    n = int(labels.shape[0])
    counts = np.bincount(labels, minlength=len(class_names))
    joint = dataset_health.estimate_joint(labels, pred_probs, confident_joint=joint_counts)
    rates = dataset_health.class_noise_rates(joint, n_examples=n)
    if health is None:
        health = dataset_health.label_health(labels, pred_probs)
    return {
        "health": health,
        "rates": rates,
        "overlaps": dataset_health.overlapping_classes(
            joint, n_examples=n, class_counts=counts, class_names=class_names
        ),
        "imbalance": dataset_health.class_imbalance(counts, class_names),
        "class_arrays": {"confident_joint": joint_counts, "joint": joint},
    }


def _issue_flags(is_label_issue: np.ndarray, found: similarity.Similarity) -> np.ndarray:
    flags = np.where(is_label_issue, Issue.LABEL, 0).astype(np.uint8)
    flags |= np.where(found.near_dup_group >= 0, Issue.NEAR_DUPLICATE, 0).astype(np.uint8)
    flags |= np.where(found.is_outlier, Issue.OUTLIER, 0).astype(np.uint8)
    return flags


def _summary(
    arrays: dict[str, np.ndarray],
    dataset: dict[str, Any],
    found: similarity.Similarity,
    dup_group: np.ndarray,
    counts: np.ndarray,
    small: np.ndarray,
    class_names: list[str],
    options: AuditOptions,
) -> AuditSummary:
    labels, issues = arrays["labels"], arrays["is_label_issue"]
    n = int(labels.shape[0])
    flagged_per_class = np.bincount(labels[issues], minlength=len(class_names))
    rates = dataset["rates"]
    by_class: dict[str, ClassIssues] = {
        name: {
            "images": int(counts[k]),
            "flagged": int(flagged_per_class[k]),
            "label_noise": round(float(rates["label_noise"][k]), 4),
            "estimated_issues": int(rates["estimated_issues"][k]),
            "suggested_into": int(np.sum((arrays["suggested"] == k) & issues)),
        }
        for k, name in enumerate(class_names)
    }
    return {
        "n_images": n,
        "n_classes": len(class_names),
        "options": options.as_json(),
        "accuracy": round(float(np.mean(arrays["suggested"] == labels)), 4),
        "health_score": round(dataset["health"], 4),
        "label_issues": {
            "flagged": int(issues.sum()),
            "fraction": round(float(issues.mean()), 4),
            "estimated": round((1 - dataset["health"]) * n),
            "by_class": by_class,
        },
        "overlapping_classes": dataset["overlaps"],
        "imbalance": dataset["imbalance"],
        "small_classes": [
            {"class": class_names[k], "images": int(counts[k])} for k in np.flatnonzero(small)
        ],
        "duplicates": _duplicate_summary(labels, dup_group, found),
        "outliers": None
        if found.outlier_score is None
        else {"flagged": int(found.is_outlier.sum()), "rule": "Q3 + 1.7 IQR of kNN distance"},
    }


def _group_stats(group: np.ndarray, labels: np.ndarray) -> GroupStats:
    """Groups of 2+ images (``group`` int64 (N,), -1 = none): count, images, and how many
    groups hold more than one given label (the same picture labelled two ways)."""
    members = group >= 0
    if not members.any():
        return {"groups": 0, "images": 0, "conflicting_label_groups": 0}
    ids, dense = np.unique(group[members], return_inverse=True)
    lo = np.full(ids.size, np.iinfo(np.int64).max)
    hi = np.full(ids.size, -1)
    np.minimum.at(lo, dense, labels[members])
    np.maximum.at(hi, dense, labels[members])
    return {
        "groups": int(ids.size),
        "images": int(members.sum()),
        "conflicting_label_groups": int(np.sum(lo != hi)),
    }


def _duplicate_summary(
    labels: np.ndarray, dup_group: np.ndarray, found: similarity.Similarity
) -> Duplicates:
    near: NearDuplicates | None = None
    if found.near_dup_radius is not None:
        near = {
            **_group_stats(found.near_dup_group, labels),
            "cosine_radius": found.near_dup_radius,
            "rule": f"cosine distance < {similarity.NEAR_DUP_RELATIVE} x median nearest-neighbour "
            "distance (exact copies included)",
        }
    return {"exact": _group_stats(dup_group, labels), "near": near}

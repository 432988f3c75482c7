"""The shape of a scan's summary (``AuditResult.summary``, the ``scans.summary`` JSON column).

core/audit/analyze.py writes it, the scan use case adds ``model`` and ``resumed_folds`` for a
cross-validated scan, the store reads it back, and the CLI, the app and the report read it by
key: these TypedDicts let mypy check every key path. Keys marked ``NotRequired`` may be absent
(older scans, BYO scans). A module of its own beside core/codes.py, so that every layer, the
store included, can name the shape.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

# "class" is a keyword: these two use the functional syntax.
ClassSize = TypedDict("ClassSize", {"class": str, "images": int})


class ClassIssues(TypedDict):
    """One class's row of ``label_issues.by_class``."""

    images: int
    flagged: int
    label_noise: float  # estimated share of the class's given labels that are wrong
    estimated_issues: int
    suggested_into: int  # flagged images whose suggested class is this one


class LabelIssues(TypedDict):
    flagged: int
    fraction: float
    estimated: int  # (1 - health_score) * n_images
    by_class: dict[str, ClassIssues]


class Overlap(TypedDict):
    """A pair of classes that get confused (audit/dataset_health.py)."""

    a: str
    b: str
    overlap: int
    joint_probability: float
    share_of_smaller: float


class Imbalance(TypedDict):
    counts: dict[str, int]
    largest: ClassSize
    smallest: ClassSize
    ratio: float
    empty_classes: list[str]


class GroupStats(TypedDict):
    """Groups of 2+ images: how many, their images, and those holding more than one label."""

    groups: int
    images: int
    conflicting_label_groups: int


class NearDuplicates(GroupStats):
    cosine_radius: float
    rule: str


class Duplicates(TypedDict):
    exact: GroupStats
    near: NearDuplicates | None  # None without embeddings


class Outliers(TypedDict):
    flagged: int
    rule: str


class QualityThresholds(TypedDict):
    """None where too few images were measured to set the threshold."""

    dark_below: float | None
    light_above: float | None
    sharpness_below: float | None
    area_range: list[int] | None
    max_aspect: float


class ImageQualitySummary(TypedDict):
    measured: int
    dark: int
    light: int
    blurry: int
    odd_size: int
    thresholds: QualityThresholds


class ScanInfo(TypedDict, total=False):
    """What the cross-validation engine reports about its run (core/scan/cv.py ``CVResult.info``;
    ``ScanOutcome.info``, and the summary's ``model`` as JSON). Keys depend on the model kind;
    timings and estimates that only the JSON output shows (``total_s``...) are left out."""

    model: str  # "small-cnn", "resnet18 linear probe", ...
    why: str  # why this model (``--model auto``'s reasoning)
    device: str
    folds: list[dict[str, Any]]  # per fold: fold, train_s, images, ... or resumed
    resumed_folds: list[int]
    image_size: int | None
    channels: int | None
    bf16: bool | None
    widths: list[int] | None
    decode_s: float
    embed_s: float
    train_s: float
    calibration: list[dict[str, Any]]  # per fold's temperature fit (scan/calibrate.py)
    flip_why: str | None  # why images were (not) mirrored
    config: dict[str, Any]  # the resolved ScanConfig
    ranks: int  # processes that trained it (torchrun ranks; 1 without)


class AuditSummary(TypedDict):
    n_images: int
    n_classes: int
    options: dict[str, Any]  # AuditOptions.as_json()
    accuracy: float  # share of images whose suggested class is the given one
    health_score: float
    label_issues: LabelIssues
    overlapping_classes: list[Overlap]
    imbalance: Imbalance
    small_classes: list[ClassSize]
    duplicates: Duplicates
    outliers: Outliers | None  # None without embeddings
    audit_method: NotRequired[dict[str, Any]]  # {"batched": False}, or the batched audit's facts
    image_quality: NotRequired[ImageQualitySummary]  # when image properties were measured
    model: NotRequired[ScanInfo]  # cross-validated scans: the engine's info, as JSON
    resumed_folds: NotRequired[int]  # cross-validated scans: folds reused from a resume

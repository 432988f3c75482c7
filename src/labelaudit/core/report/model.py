"""The facts one report shows, gathered from the project store (``gather``, ``team``) before
anything is drawn: typed records, so that rendering is a pure function of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelaudit.core.views.findings import ScanReport


@dataclass(frozen=True)
class ImageRef:
    """One image to show as a thumbnail, with what the audit says about it."""

    image_id: int
    path: str  # relative to the image root
    sha256: str | None
    given: str  # the given label ("" none)
    suggested: str = ""  # the scan's most likely label ("" none)
    quality: float | None = None  # cleanlab label quality (low = likely wrong)
    note: str = ""  # a short caption line (a lead's decision, say)


@dataclass(frozen=True)
class ImportFacts:
    """What the import found, with or without a scan (``info.project_info``)."""

    totals: dict[str, int]  # ok, broken, missing, unlabelled
    classes: dict[str, int]  # valid images per class
    problems: dict[str, int]  # latest import's problems: reason -> count
    problem_words: dict[str, str]  # reason -> description
    duplicate_groups: int
    duplicate_images: int
    conflicting_duplicate_groups: int


@dataclass(frozen=True)
class PairExamples:
    a: str
    b: str
    overlap: int
    share_of_smaller: float
    images: list[ImageRef]


@dataclass(frozen=True)
class ScanFacts:
    """The latest finished scan: ``findings.scan_report`` plus what the pictures need."""

    report: ScanReport  # scan_report(): headline, findings, summary, noise matrix, ...
    versions: dict[str, Any]
    label_quality: list[float]  # every audited image
    flagged: list[bool]  # aligned with label_quality
    worst: list[ImageRef]  # flagged, lowest quality first
    conflict_groups: list[list[ImageRef]]  # near-duplicate groups that mix labels (a sample)
    conflict_labels: list[str]  # each group's given labels with counts, over all its members
    conflict_group_total: int
    pairs: list[PairExamples]


@dataclass(frozen=True)
class ReviewFacts:
    """The team's work: states, agreement, the lead's decisions."""

    states: dict[str, int]  # issues_types state -> images
    votes: int
    annotators: int
    agreement: dict[str, Any] | None  # consensus.agreement.agreement_report(); None: no votes
    decisions: list[ImageRef]  # the lead's decisions, newest first (note: what was decided)
    decision_total: int


@dataclass(frozen=True)
class ExportFacts:
    """The latest recorded export and what it changed; its retraining history when present."""

    export_id: int
    created_at: float
    out_dir: Path
    params: dict[str, Any]
    counts: dict[str, Any]  # export.report.counts(): before, after, relabelled, excluded, ...
    provenance: dict[str, Any] | None  # provenance.json, when the folder is still there
    changes_file: Path | None  # CHANGES.md, when there
    history: dict[str, Any] | None  # retrain_history.json, when retrain.py ran on it
    history_note: str = ""  # why a history found was not used, or what to run


@dataclass(frozen=True)
class ReportFacts:
    project: dict[str, str]  # folder, id, database, image root
    created_at: str  # ISO 8601, UTC
    imported: ImportFacts
    scan: ScanFacts | None
    review: ReviewFacts | None
    export: ExportFacts | None
    versions: dict[str, str | None]  # library versions of this report's run
    commands: list[str]  # the commands that reproduce the project's state
    notes: list[str] = field(default_factory=list)

"""``labelaudit scan``: cross-validated predictions (or the user's own), the audit, the store.

A CV scan: load the valid images (status ok and labelled), freeze the class names, create the
``scans`` row (status running, config, library versions, host, pid, heartbeat), run
``scan.cv.cross_validate`` with each finished fold saved in its own transaction, audit, then
publish every array, the summary and the timings in ONE transaction that sets status ``done``.
Ctrl-C marks the scan cancelled; a killed or cancelled scan with the same config, images, labels
and classes is resumed from its finished folds by the next ``labelaudit scan``.

Bring-your-own predictions (``--pred-probs``) are validated completely first; the scan row and its
results are then written together in one transaction, so bad input stores nothing.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy.engine import Connection

from labelaudit.core.audit import inputs
from labelaudit.core.audit import label_issues as label_checks
from labelaudit.core.audit.analyze import (
    BATCH_ABOVE_MB,
    AuditOptions,
    AuditResult,
    audit_predictions,
)
from labelaudit.core.audit.image_quality import ImageProperties
from labelaudit.core.audit.label_issues import FILTER_METHODS, QUALITY_METHODS
from labelaudit.core.dataset.catalog import Catalog, load_catalog
from labelaudit.core.errors import (
    Cancelled,
    InputError,
    LabelauditError,
    StoreError,
    describe,
    is_out_of_memory,
    out_of_memory_message,
)
from labelaudit.core.paths import disk_path
from labelaudit.core.progress import NullProgress, Progress
from labelaudit.core.scan.api import ScanConfig
from labelaudit.core.scan.cv import resolve_config
from labelaudit.core.scan.folds import check_folds_fit
from labelaudit.core.scan.mirror import resolve_flip
from labelaudit.core.scan.ranks import RankWork
from labelaudit.core.scan_summary import AuditSummary, ScanInfo
from labelaudit.core.store.engine import Store
from labelaudit.core.usecases import scan_rows
from labelaudit.core.usecases.scan_publish import (
    json_safe,
    publish_results,
    record_calibration,
    timed_write,
)

# The scan's public surface; the option lists are re-exported for the CLI's argparse choices.
__all__ = [
    "BATCH_ABOVE_MB",
    "FILTER_METHODS",
    "QUALITY_METHODS",
    "CvJob",
    "ScanOutcome",
    "ScanRequest",
    "check_can_start",
    "prepare_cv",
    "run_cv_recorded",
    "run_scan",
    "scan_catalog",
]


@dataclass(frozen=True)
class ScanRequest:
    config: ScanConfig = field(default_factory=ScanConfig)
    filter_by: str = "prune_by_noise_rate"
    quality_method: str = "self_confidence"
    min_class_size: int | None = None  # None: the number of folds
    pred_probs: Path | None = None  # .npy (documented row order) or CSV with a path column
    embeddings: Path | None = None  # .npy, rows as pred_probs
    batch_above_mb: float = BATCH_ABOVE_MB  # larger pred_probs are audited in chunks

    def audit_options(self) -> AuditOptions:
        """The audit's options, checked before anything trains or is stored."""
        if self.pred_probs is None and self.config.folds < 2:  # the default size comes from it
            raise InputError(f"--folds must be at least 2, got {self.config.folds}")
        size = self.min_class_size if self.min_class_size is not None else self.config.folds
        if size < 1:
            raise InputError(f"--min-class-size must be at least 1, got {size}")
        label_checks.check_method(self.filter_by, label_checks.FILTER_METHODS, option="--filter-by")
        label_checks.check_method(
            self.quality_method, label_checks.QUALITY_METHODS, option="--quality-method"
        )
        if self.batch_above_mb < 0:
            raise InputError(f"--batch-audit-mb must be >= 0, got {self.batch_above_mb:g}")
        return AuditOptions(self.filter_by, self.quality_method, size, self.batch_above_mb)


@dataclass
class ScanOutcome:
    scan_id: int
    kind: str  # cv | pred_probs
    summary: AuditSummary
    timings: dict[str, float]
    resumed_folds: int = 0  # folds reused from an interrupted run
    info: ScanInfo = field(default_factory=lambda: ScanInfo())  # the engine's CVResult.info


def run_scan(
    store: Store, image_root: Path, request: ScanRequest, *, progress: Progress | None = None
) -> ScanOutcome:
    progress = progress or NullProgress()
    started = time.perf_counter()
    options = request.audit_options()
    catalog = check_can_start(store)
    if request.pred_probs is not None:
        try:
            outcome = _byo_scan(store, image_root, catalog, request, options, progress)
        except Exception as exc:
            if is_out_of_memory(exc):  # validated input is stored in one transaction: no write
                raise InputError(out_of_memory_message(exc)) from None
            raise
    else:
        outcome = _cv_scan(store, image_root, catalog, request, options, progress)
    outcome.timings["total_s"] = time.perf_counter() - started
    return outcome


def scan_catalog(store: Store) -> Catalog:
    """The valid images, or one InputError line when a scan cannot run on them."""
    catalog = load_catalog(store, valid_only=True)
    if len(catalog) == 0:
        raise InputError("no valid images to scan (every image is broken, missing or unlabelled)")
    present = np.unique(catalog.labels)
    if present.size < 2:
        names = ", ".join(catalog.class_names[i] for i in present) or "none"
        raise InputError(
            f"a scan needs at least 2 classes with valid images; this project has {present.size} "
            f"({names})"
        )
    return catalog


def check_can_start(store: Store) -> Catalog:
    """A scan's first checks: images to scan (the catalog), and no live scan of this project."""
    catalog = scan_catalog(store)
    with store.read() as conn:
        scan_rows.check_not_running(conn)
    return catalog


def _byo_scan(
    store: Store,
    image_root: Path,
    catalog: Catalog,
    request: ScanRequest,
    options: AuditOptions,
    progress: Progress,
) -> ScanOutcome:
    assert request.pred_probs is not None and catalog.paths is not None
    started = time.perf_counter()
    pred_probs, file_rows = inputs.read_pred_probs(
        request.pred_probs,
        paths=catalog.paths,
        class_names=catalog.class_names,
        image_root=image_root,
        spill_above_mb=options.batch_above_mb,  # above it: on disk, read in chunks
    )
    embeddings = None
    if request.embeddings is not None:
        embeddings = inputs.read_embeddings(request.embeddings, file_rows=file_rows)
    timings = {"read_s": time.perf_counter() - started}
    result = _audit(catalog, pred_probs, embeddings, options, progress, timings)
    config = {
        "model": "own predictions",
        "pred_probs": str(request.pred_probs),
        "embeddings": str(request.embeddings) if request.embeddings else None,
        "calibrate": False,  # the user's probabilities are audited as given
        "audit": options.as_json(),
    }

    def publish(conn: Connection) -> int:
        scan_rows.lock_scans(conn)
        scan_rows.refuse_if_running(conn)
        scan_id = scan_rows.create_scan(
            conn,
            kind="pred_probs",
            status="done",
            config=config,
            class_names=catalog.class_names,
            n_images=len(catalog),
        )
        no_fold = np.full(len(catalog), -1, dtype=np.int8)  # predictions brought by the user
        publish_results(conn, scan_id, result, timings, fold=no_fold)
        return scan_id

    scan_id = timed_write(store, publish, timings)
    return ScanOutcome(scan_id, "pred_probs", result.summary, timings)


def _audit(
    catalog: Catalog,
    pred_probs: np.ndarray,
    embeddings: np.ndarray | None,
    options: AuditOptions,
    progress: Progress,
    timings: dict[str, float],
) -> AuditResult:
    started = time.perf_counter()
    result = audit_predictions(
        catalog.labels,
        pred_probs,
        image_ids=catalog.image_ids,
        class_names=catalog.class_names,
        options=options,
        embeddings=embeddings,
        dup_group=catalog.dup_group,
        image_properties=ImageProperties(
            catalog.brightness, catalog.sharpness, catalog.width, catalog.height
        ),
        progress=progress,
    )
    timings.update(result.timings)
    timings["audit_s"] = time.perf_counter() - started
    return result


def _cv_scan(
    store: Store,
    image_root: Path,
    catalog: Catalog,
    request: ScanRequest,
    options: AuditOptions,
    progress: Progress,
) -> ScanOutcome:
    job = prepare_cv(store, image_root, catalog, request, options, progress)
    with scan_rows.Heartbeat(store, job.scan_id):
        return run_cv_recorded(job, progress)


def prepare_cv(
    store: Store,
    image_root: Path,
    catalog: Catalog,
    request: ScanRequest,
    options: AuditOptions,
    progress: Progress,
) -> CvJob:
    """Everything a CV scan decides before training (after ``check_can_start``), ending with
    its scan row (created, or an unfinished one with the same inputs claimed for a resume)."""
    assert catalog.paths is not None
    embeddings = _user_embeddings(request, catalog)
    wanted = request.config
    if embeddings is not None:  # the user's embeddings replace the all-images network
        wanted = dataclasses.replace(wanted, embed=False)
    paths = [disk_path(image_root, p) for p in catalog.paths]
    # decided before the scan row exists: it is part of the config a resume must match
    wanted, flip_why = resolve_flip(wanted, paths, workers=wanted.workers)
    resolved, why = resolve_config(
        wanted, n_classes=len(catalog.class_names), n_images=len(catalog)
    )
    # before the scan row exists: a bad --folds stores nothing
    check_folds_fit(
        np.bincount(catalog.labels, minlength=len(catalog.class_names)),
        n_folds=resolved.folds,
        class_names=catalog.class_names,
    )
    if why:
        progress.message(why)
    progress.message(flip_why)
    config = {
        **resolved.as_json(),
        "model_why": why,
        "flip_why": flip_why,
        "audit": options.as_json(),
    }
    if request.embeddings is not None:
        config["embeddings"] = str(request.embeddings)
    scan_id, resumed = scan_rows.start_or_resume(store, catalog, config)
    if resumed:
        progress.message(
            f"resuming scan #{scan_id}: {resumed} of {resolved.folds} folds already done"
        )
    return CvJob(
        store=store,
        scan_id=scan_id,
        catalog=catalog,
        paths=paths,
        config=resolved,
        options=options,
        embeddings=embeddings,
        resumed=resumed,
        stored_config=config,
    )


def _user_embeddings(request: ScanRequest, catalog: Catalog) -> np.ndarray | None:
    """``--embeddings`` beside a CV scan: rows in the documented (sorted-path) order."""
    if request.embeddings is None:
        return None
    assert catalog.paths is not None
    file_rows = np.empty(len(catalog), dtype=np.int64)
    file_rows[inputs.documented_row_order(catalog.paths)] = np.arange(len(catalog))
    return inputs.read_embeddings(request.embeddings, file_rows=file_rows)


def run_cv_recorded(
    job: CvJob, progress: Progress, *, share: RankWork | None = None
) -> ScanOutcome:
    """Run the job; a cancel or failure is recorded on the scan row (folds kept for a resume).
    ``share``: rank 0's part in a distributed scan (``usecases.scan_ranks``)."""
    try:
        return _run_cv(job, progress, share)
    except (KeyboardInterrupt, Cancelled):
        scan_rows.mark_ended(
            job.store, job.scan_id, status="cancelled", error="cancelled by the user"
        )
        raise Cancelled(
            f"scan #{job.scan_id} cancelled; its finished folds are kept: run the same "
            "'labelaudit scan' again to resume"
        ) from None
    except BaseException as exc:
        scan_rows.mark_ended(job.store, job.scan_id, status="failed", error=describe(exc))
        if is_out_of_memory(exc) and not isinstance(exc, LabelauditError):
            raise InputError(out_of_memory_message(exc)) from None
        raise


@dataclass(frozen=True)
class CvJob:
    store: Store
    scan_id: int
    catalog: Catalog
    paths: list[Path]  # on disk, catalog order
    config: ScanConfig  # resolved
    options: AuditOptions
    embeddings: np.ndarray | None  # the user's, else the engine's
    resumed: int
    stored_config: dict[str, Any]  # the scan row's config; calibration is added on publishing


def _run_cv(job: CvJob, progress: Progress, share: RankWork | None) -> ScanOutcome:
    from labelaudit.core.scan.cv import cross_validate

    timings: dict[str, float] = {}
    started = time.perf_counter()
    cv = cross_validate(
        job.paths,
        job.catalog.labels,
        n_classes=len(job.catalog.class_names),
        groups=job.catalog.dup_group,
        config=job.config,
        progress=progress,
        checkpoint=scan_rows.StoreCheckpoint(job.store, job.scan_id),
        share=share,
    )
    timings["cv_s"] = time.perf_counter() - started
    pred_probs = np.asarray(cv.pred_probs, dtype=np.float32)
    features = job.embeddings if job.embeddings is not None else cv.embeddings
    result = _audit(job.catalog, pred_probs, features, job.options, progress, timings)
    model = cast(ScanInfo, json_safe(cv.info))
    extra = {"model": model, "resumed_folds": job.resumed}

    def publish(conn: Connection) -> int:
        if not scan_rows.still_ours(conn, job.scan_id):
            raise StoreError(f"scan #{job.scan_id} was taken over by another process; not saved")
        publish_results(conn, job.scan_id, result, timings, fold=cv.fold, summary_extra=extra)
        record_calibration(conn, job.scan_id, job.stored_config, cv.info.get("calibration"))
        return job.scan_id

    timed_write(job.store, publish, timings)
    summary: AuditSummary = {**result.summary, "model": model, "resumed_folds": job.resumed}
    info = cast(ScanInfo, {**cv.info, "flip_why": job.stored_config.get("flip_why")})
    return ScanOutcome(job.scan_id, "cv", summary, timings, job.resumed, info)

"""One rank of a distributed ``labelaudit scan`` under torchrun (``scan.ranks`` splits the work).

Rank 0 does what a one-process scan does (the checks, the scan row created or claimed for a
resume, the heartbeat, the audit and the one-transaction publish) and tells the other ranks the
scan id, the resolved config and the work items still to do. Every rank trains its share into the
store's fold checkpoint, and rank 0 gathers them. Every rank needs the same project: one
PostgreSQL store, or SQLite on a disk all ranks share (one machine). A rank that dies leaves the
scan unpublished with its finished folds stored: the next run, or torchrun's restart, resumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from labelaudit.core.errors import InputError, describe
from labelaudit.core.paths import disk_path
from labelaudit.core.progress import NullProgress, Progress
from labelaudit.core.scan.api import ScanConfig
from labelaudit.core.scan.ranks import (
    EMBED,
    ControlGroup,
    Ranks,
    RankStopped,
    RankWork,
    work_items,
)
from labelaudit.core.store.arrays import get_array
from labelaudit.core.store.engine import Store
from labelaudit.core.store.scan_results import owner
from labelaudit.core.usecases import scan_rows
from labelaudit.core.usecases.scan import (
    CvJob,
    ScanOutcome,
    ScanRequest,
    check_can_start,
    prepare_cv,
    run_cv_recorded,
    scan_catalog,
)


def run_scan_rank(
    store: Store,
    image_root: Path,
    request: ScanRequest,
    *,
    ranks: Ranks,
    progress: Progress | None = None,
) -> ScanOutcome | None:
    """Rank 0: the scan's outcome, as ``run_scan`` returns it. Other ranks: None, once their
    share is stored and every rank has finished. Raises what ``run_scan`` raises; the other ranks
    raise RankStopped when rank 0 could not start the scan."""
    progress = progress or NullProgress()
    if request.pred_probs is not None:
        raise InputError(
            "--pred-probs audits your own predictions in one process: run it without torchrun "
            "or --nproc-per-node"
        )
    if ranks.across_machines and store.engine.dialect.name == "sqlite":
        raise InputError(
            "a scan across machines needs the team store (PostgreSQL, 'labelaudit init --db "
            "postgresql://...'): SQLite's locks do not hold on a network disk"
        )
    group = ControlGroup(ranks, poll=progress.cancel.raise_if_cancelled)
    try:
        if ranks.main:
            return _main_rank(store, image_root, request, group, progress)
        _other_rank(store, image_root, group, progress)
        return None
    finally:
        group.leave()


def _main_rank(
    store: Store, image_root: Path, request: ScanRequest, group: ControlGroup, progress: Progress
) -> ScanOutcome:
    try:
        options = request.audit_options()
        job = prepare_cv(store, image_root, check_can_start(store), request, options, progress)
        todo, done = _work_items(job, group.ranks.world)
    except BaseException as exc:
        group.from_main({"error": describe(exc)})
        raise
    group.from_main(
        {"scan_id": job.scan_id, "config": job.config.as_json(), "todo": todo, "done": done}
    )
    names = work_items(job.config, world=group.ranks.world)
    wait = _wait_showing_others(group, job, [names[i] for i in todo], progress)
    share = RankWork(group.ranks, tuple(todo), frozenset(done), wait_all=wait)
    if todo:
        what = "shards of the frozen features" if job.config.linear_probe else "folds"
        if EMBED in todo:
            what += " and the embedding network"
        progress.message(f"{group.ranks.world} ranks share {len(todo)} work items ({what})")
    with scan_rows.Heartbeat(store, job.scan_id):
        return run_cv_recorded(job, progress, share=share)


def _wait_showing_others(
    group: ControlGroup, job: CvJob, names: list[str], progress: Progress, *, every_s: float = 2.0
) -> Callable[[], None]:
    """Rank 0's wait for the other ranks, as a step that counts every rank's stored items (the
    store is read every ``every_s``), so the wait shows how far they are."""
    checkpoint = scan_rows.StoreCheckpoint(job.store, job.scan_id)

    def wait() -> None:
        with progress.step("waiting for the other ranks", len(names), unit="item") as state:
            last = 0.0

            def poll() -> None:
                nonlocal last
                progress.cancel.raise_if_cancelled()
                if time.monotonic() - last >= every_s:
                    last = time.monotonic()
                    stored = checkpoint.stored()
                    progress.advance(sum(name in stored for name in names) - state.done)

            group.wait_all(poll)

    return wait


def _work_items(job: CvJob, world: int) -> tuple[list[int], list[int]]:
    """(items to do now, items already stored), the same lists on every rank."""
    items = work_items(job.config, world=world)
    stored = scan_rows.StoreCheckpoint(job.store, job.scan_id).stored()
    return [i for i, name in items.items() if name not in stored], [
        i for i, name in items.items() if name in stored
    ]


def _other_rank(store: Store, image_root: Path, group: ControlGroup, progress: Progress) -> None:
    message: dict[str, Any] = group.from_main()
    if "error" in message:
        raise RankStopped(f"rank 0 could not start the scan: {message['error']}")
    scan_id = int(message["scan_id"])
    catalog = scan_catalog(store)
    with store.read() as conn:
        ids = get_array(conn, owner(scan_id), "image_ids")
        labels = get_array(conn, owner(scan_id), "labels")
    if (
        ids is None
        or labels is None
        or not (np.array_equal(ids, catalog.image_ids) and np.array_equal(labels, catalog.labels))
    ):
        raise InputError(
            f"rank {group.ranks.rank} sees other images or labels than rank 0 for scan "
            f"#{scan_id}: every rank must open the same project"
        )
    assert catalog.paths is not None
    from labelaudit.core.scan.cv import train_share

    train_share(
        [disk_path(image_root, p) for p in catalog.paths],
        catalog.labels,
        n_classes=len(catalog.class_names),
        groups=catalog.dup_group,
        config=ScanConfig.from_json(message["config"]),
        checkpoint=scan_rows.StoreCheckpoint(store, scan_id),
        share=RankWork(
            group.ranks,
            tuple(message["todo"]),
            frozenset(message["done"]),
            wait_all=group.wait_all,
        ),
        progress=progress,
    )

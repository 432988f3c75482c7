"""Import (and re-import) a discovered dataset into the store.

Files are read, hashed and decoded in worker processes; results are staged in chunks (short write
transactions) and published in one short transaction, so readers never see half an import and voters
are never blocked for long. Re-import follows architecture.md §2 (step 3): files are matched by
path, then by sha256 (a moved file keeps its votes), a file whose bytes changed keeps its votes
marked stale and goes back to review, and nothing is ever deleted from the store.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.dataset.discover import Candidate, Discovery
from labelaudit.core.dataset.import_rows import (
    begin_import,
    discard_staging,
    heartbeat,
    load_existing,
    relabel_row,
    stage_row,
)
from labelaudit.core.dataset.inspect import InspectOptions, check_options
from labelaudit.core.dataset.liveness import HEARTBEAT_INTERVAL_S
from labelaudit.core.dataset.problems import FILE_PROBLEMS, Problem
from labelaudit.core.dataset.publish import ExistingImage, Publish
from labelaudit.core.dataset.source import ImportSource, write_source
from labelaudit.core.dataset.workers import inspect_many
from labelaudit.core.progress import NullProgress, Progress
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import (
    images,
    import_staging,
    imports,
)

STAGE_ROWS = 2_000
# Problems of the machine, not of the file: the next import decodes such files again.
RETRIED_PROBLEMS = frozenset({"out_of_memory", "worker_crashed"})


@dataclass
class ImportReport:
    import_id: int
    total: int = 0
    new: int = 0
    updated: int = 0
    moved: int = 0
    changed: int = 0
    relabelled: int = 0
    unchanged: int = 0
    missing: int = 0
    restored: int = 0
    skipped_non_images: int = 0
    skipped_projects: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    duplicate_groups: int = 0
    duplicate_images: int = 0
    seconds: float = 0.0
    decoded: int = 0

    @property
    def rate(self) -> float:
        return self.decoded / self.seconds if self.seconds > 0 else 0.0

    def problem_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.problems:
            counts[p.reason] = counts.get(p.reason, 0) + 1
        return dict(sorted(counts.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "total": self.total,
            "new": self.new,
            "updated": self.updated,
            "moved": self.moved,
            "changed": self.changed,
            "relabelled": self.relabelled,
            "unchanged": self.unchanged,
            "missing": self.missing,
            "restored": self.restored,
            "skipped_non_images": self.skipped_non_images,
            "skipped_projects": self.skipped_projects,
            "problems": self.problem_counts(),
            "duplicate_groups": self.duplicate_groups,
            "duplicate_images": self.duplicate_images,
            "seconds": round(self.seconds, 3),
            "decoded": self.decoded,
            "images_per_s": round(self.rate, 1),
        }


# -- the import ----------------------------------------------------------------------------------
def run_import(
    store: Store,
    discovery: Discovery,
    *,
    image_root: Path,
    source: str,
    manifest: Path | None = None,
    thumb_dir: Path | None = None,
    rehash: bool = False,
    workers: int | None = None,
    max_pixels: int | None = None,
    progress: Progress | None = None,
    remember: ImportSource | None = None,
) -> ImportReport:
    """Import ``discovery`` (from ``discover_folder`` or ``read_manifest``) into ``store``.

    ``remember`` is recorded as the project's import source when the import finishes."""
    check_options(workers=workers, max_pixels=max_pixels)
    progress = progress or NullProgress()
    started = time.time()
    t0 = time.perf_counter()
    existing = load_existing(store)
    import_id = store.write(lambda c: begin_import(c, source, manifest, started))
    report = ImportReport(
        import_id=import_id,
        skipped_non_images=discovery.skipped_non_images,
        skipped_projects=list(discovery.skipped_projects),
    )
    report.problems = list(discovery.problems)
    label_problems = {p.path: p for p in discovery.problems if p.reason in FILE_PROBLEMS}
    candidates = discovery.candidates
    report.total = len(candidates)
    present = {c.path for c in candidates}
    relabels, to_decode = _split_unchanged(
        candidates, existing, label_problems, report, image_root=image_root, rehash=rehash
    )
    options = InspectOptions(
        thumb_dir=thumb_dir,
        **({"max_pixels": max_pixels} if max_pixels is not None else {}),
    )
    try:
        with progress.step("import", total=len(to_decode), unit="img"):
            changed_ids, moves = _decode_and_stage(
                store,
                import_id,
                to_decode,
                existing=existing,
                present=present,
                label_problems=label_problems,
                report=report,
                image_root=image_root,
                options=options,
                workers=workers,
                progress=progress,
            )
        moved_ids = {m[0] for m in moves}
        missing_ids = [
            r.id
            for p, r in existing.items()
            if p not in present and r.id not in moved_ids and r.status != "missing"
        ]
        publish = Publish(
            import_id=import_id,
            started=started,
            relabels=relabels,
            changed_ids=changed_ids,
            moves=moves,
            missing_ids=missing_ids,
            problems=report.problems,
            existing=existing,
        )
        _publish_and_finish(store, publish, report, t0=t0, remember=remember)
    except BaseException:
        discard_staging(store, import_id)
        raise
    return report


def _publish_and_finish(
    store: Store,
    publish: Publish,
    report: ImportReport,
    *,
    t0: float,
    remember: ImportSource | None,
) -> None:
    """Make the staged rows visible and record the import as done, in ONE transaction: killed
    between two, the images were in the project under an import that `info` called interrupted
    (tests/fault/test_fault_import_record.py)."""

    def apply(conn: Connection) -> None:
        counts = publish.run(conn)
        report.new, report.updated = counts["new"], counts["updated"]
        report.moved, report.changed = len(publish.moves), len(publish.changed_ids)
        report.missing, report.relabelled = len(publish.missing_ids), counts["relabelled"]
        report.restored = counts["restored"]
        report.duplicate_groups, report.duplicate_images = _duplicate_counts_in(conn)
        report.seconds = time.perf_counter() - t0
        _finish_import(conn, publish.import_id, report, remember)

    store.write(apply)


def _split_unchanged(
    candidates: list[Candidate],
    existing: dict[str, ExistingImage],
    label_problems: dict[str, Problem],
    report: ImportReport,
    *,
    image_root: Path,
    rehash: bool,
) -> tuple[list[dict[str, Any]], list[Candidate]]:
    """(relabel rows of unchanged files, candidates to decode); counts the unchanged ones."""
    relabels: list[dict[str, Any]] = []
    to_decode: list[Candidate] = []
    for cand in candidates:
        row: ExistingImage | None = existing.get(cand.path)
        if (
            row is not None
            and not rehash
            and row.problem not in RETRIED_PROBLEMS
            and _unchanged_on_disk(image_root / (cand.disk or cand.path), row)
        ):
            report.unchanged += 1
            if row.status == "broken" and row.problem and cand.path not in label_problems:
                report.problems.append(Problem(cand.path, row.problem, row.problem_detail))
            if row.status == "missing" or (row.label, row.split) != (cand.label, cand.split):
                relabels.append(relabel_row(cand, row, label_problems.get(cand.path)))
            continue
        to_decode.append(cand)
    return relabels, to_decode


def _decode_and_stage(
    store: Store,
    import_id: int,
    to_decode: list[Candidate],
    *,
    existing: dict[str, ExistingImage],
    present: set[str],
    label_problems: dict[str, Problem],
    report: ImportReport,
    image_root: Path,
    options: InspectOptions,
    workers: int | None,
    progress: Progress,
) -> tuple[list[int], list[tuple[int, str, str]]]:
    """Inspect the files in worker processes and stage their rows in chunks.

    Returns (ids whose bytes changed, moves as (image id, old path, new path)): a new path whose
    sha256 is that of a vanished file is that file, moved."""
    vanished_by_sha: dict[str, list[int]] = {}
    path_of = {row.id: path for path, row in existing.items()}
    for path, old in existing.items():
        if path not in present and old.sha256:
            vanished_by_sha.setdefault(old.sha256, []).append(old.id)
    changed_ids: list[int] = []
    moves: list[tuple[int, str, str]] = []
    staged: list[dict[str, Any]] = []
    beat = time.monotonic()
    facts_iter = inspect_many(
        [str(image_root / (c.disk or c.path)) for c in to_decode], options, workers=workers
    )
    for cand, facts in zip(to_decode, facts_iter, strict=True):
        report.decoded += 1
        row = existing.get(cand.path)
        stage = stage_row(import_id, cand, facts, label_problems.get(cand.path))
        if facts.problem is not None:
            report.problems.append(Problem(cand.path, facts.problem, facts.detail))
        if row is not None:
            stage.update(action="update", image_id=row.id)
            if row.sha256 and facts.sha256 and row.sha256 != facts.sha256:
                changed_ids.append(row.id)
        elif facts.sha256 and vanished_by_sha.get(facts.sha256):
            moved_id = vanished_by_sha[facts.sha256].pop(0)
            stage.update(action="move", image_id=moved_id)
            moves.append((moved_id, path_of[moved_id], cand.path))
        staged.append(stage)
        if len(staged) >= STAGE_ROWS:
            _stage(store, staged)
            staged = []
        if time.monotonic() - beat > HEARTBEAT_INTERVAL_S:
            heartbeat(store, import_id)
            beat = time.monotonic()
        progress.advance()
    _stage(store, staged)
    return changed_ids, moves


def _unchanged_on_disk(path: Path, row: ExistingImage) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return st.st_size == row.size and st.st_mtime_ns == row.mtime_ns and row.size > 0


def _stage(store: Store, rows: list[dict[str, Any]]) -> None:
    if rows:
        store.write(lambda c: c.execute(sa.insert(import_staging), rows))


def _finish_import(
    conn: Connection, import_id: int, report: ImportReport, remember: ImportSource | None
) -> None:
    stats = {"status": "done", **report.as_dict()}
    conn.execute(
        sa.update(imports)
        .where(imports.c.id == import_id)
        .values(finished_at=time.time(), stats=json.dumps(stats))
    )
    if remember is not None:
        write_source(conn, remember)


def duplicate_counts(store: Store) -> tuple[int, int]:
    """(groups, images) of exact duplicates (same sha256) among valid images."""
    with store.read() as conn:
        return _duplicate_counts_in(conn)


def _duplicate_counts_in(conn: Connection) -> tuple[int, int]:
    sub = (
        sa.select(images.c.sha256, sa.func.count().label("n"))
        .where(images.c.status == "ok")
        .group_by(images.c.sha256)
        .having(sa.func.count() > 1)
        .subquery()
    )
    groups, n = conn.execute(sa.select(sa.func.count(), sa.func.sum(sub.c.n))).one()
    return int(groups or 0), int(n or 0)

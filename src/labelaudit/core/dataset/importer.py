"""Import (and re-import) a discovered dataset into the store.

Files are read, hashed and decoded in worker processes; results are staged in chunks (short write
transactions) and published in one short transaction, so readers never see half an import and
voters are never blocked for long. Re-import follows DESIGN.md section 5: files are matched by path,
then by sha256 (a moved file keeps its votes), a file whose bytes changed keeps its votes marked
stale and goes back to review, and nothing is ever deleted from the store.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.dataset.discover import Candidate, Discovery
from labelaudit.core.dataset.inspect import FileFacts, InspectOptions, check_options
from labelaudit.core.dataset.liveness import HEARTBEAT_INTERVAL_S, running_stats, unfinished_state
from labelaudit.core.dataset.problems import FILE_PROBLEMS, LABEL_PROBLEMS, Problem
from labelaudit.core.dataset.publish import ExistingImage, Publish
from labelaudit.core.dataset.source import ImportSource, write_source
from labelaudit.core.dataset.workers import inspect_many
from labelaudit.core.progress import NullProgress, Progress
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import (
    classes,
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
    existing = _load_existing(store)
    import_id = store.write(lambda c: _begin_import(c, source, manifest, started))
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
    vanished_by_sha: dict[str, list[int]] = {}
    path_of = {row.id: path for path, row in existing.items()}
    for path, old in existing.items():
        if path not in present and old.sha256:
            vanished_by_sha.setdefault(old.sha256, []).append(old.id)

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
                relabels.append(_relabel_row(cand, row, label_problems.get(cand.path)))
            continue
        to_decode.append(cand)

    options = InspectOptions(
        thumb_dir=thumb_dir,
        **({"max_pixels": max_pixels} if max_pixels is not None else {}),
    )
    changed_ids: list[int] = []
    moves: list[tuple[int, str, str]] = []
    try:
        with progress.step("import", total=len(to_decode), unit="img"):
            staged: list[dict[str, Any]] = []
            beat = time.monotonic()
            facts_iter = inspect_many(
                [str(image_root / (c.disk or c.path)) for c in to_decode], options, workers=workers
            )
            for cand, facts in zip(to_decode, facts_iter, strict=True):
                report.decoded += 1
                row = existing.get(cand.path)
                stage = _stage_row(import_id, cand, facts, label_problems.get(cand.path))
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
                    _heartbeat(store, import_id)
                    beat = time.monotonic()
                progress.advance()
            _stage(store, staged)
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
        counts = store.write(publish.run)
    except BaseException:
        _discard_staging(store, import_id)
        raise
    report.new, report.updated = counts["new"], counts["updated"]
    report.moved, report.changed = len(moves), len(changed_ids)
    report.missing, report.relabelled = len(missing_ids), counts["relabelled"]
    report.restored = counts["restored"]
    report.duplicate_groups, report.duplicate_images = duplicate_counts(store)
    report.seconds = time.perf_counter() - t0
    store.write(lambda c: _finish_import(c, import_id, report, remember))
    return report


def _unchanged_on_disk(path: Path, row: ExistingImage) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return st.st_size == row.size and st.st_mtime_ns == row.mtime_ns and row.size > 0


def _load_existing(store: Store) -> dict[str, ExistingImage]:
    with store.read() as conn:
        rows = conn.execute(
            sa.select(
                images.c.path,
                images.c.id,
                images.c.size,
                images.c.mtime_ns,
                images.c.sha256,
                images.c.status,
                images.c.problem,
                images.c.problem_detail,
                classes.c.name,
                images.c.split,
            ).select_from(images.outerjoin(classes, images.c.class_id == classes.c.id))
        )
        return {r[0]: ExistingImage(*r[1:]) for r in rows}  # type: ignore[call-arg]


def _begin_import(conn: Connection, source: str, manifest: Path | None, started: float) -> int:
    _mark_interrupted(conn)
    result = conn.execute(
        sa.insert(imports).values(
            started_at=started,
            source=source,
            manifest=str(manifest) if manifest else None,
            stats=running_stats(now=started),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def _mark_interrupted(conn: Connection) -> None:
    """Record killed imports as interrupted and clear their staging rows (garbage); an import
    still running elsewhere keeps its rows (the later publish of the two refuses)."""
    rows = conn.execute(
        sa.select(imports.c.id, imports.c.stats).where(imports.c.finished_at.is_(None))
    ).all()
    for import_id, stats in rows:
        if unfinished_state(stats) == "running":
            continue
        conn.execute(sa.delete(import_staging).where(import_staging.c.import_id == import_id))
        try:
            marked = {**json.loads(stats), "status": "interrupted"}
        except ValueError:
            marked = {"status": "interrupted"}
        conn.execute(
            sa.update(imports).where(imports.c.id == import_id).values(stats=json.dumps(marked))
        )


def _heartbeat(store: Store, import_id: int) -> None:
    store.write(
        lambda c: c.execute(
            sa.update(imports).where(imports.c.id == import_id).values(stats=running_stats())
        )
    )


def _stage_row(
    import_id: int, cand: Candidate, facts: FileFacts, label_problem: Problem | None
) -> dict[str, Any]:
    problem, detail = facts.problem, facts.detail
    if problem is None and label_problem is not None:
        problem, detail = label_problem.reason, label_problem.detail
    return {
        "import_id": import_id,
        "action": "new",
        "image_id": None,
        "path": cand.path,
        "label": cand.label,
        "split": cand.split,
        "size": facts.size,
        "mtime_ns": facts.mtime_ns,
        "sha256": facts.sha256,
        "width": facts.width,
        "height": facts.height,
        "mode": facts.mode,
        "format": facts.format,
        "status": "ok" if problem is None else "broken",
        "problem": problem,
        "problem_detail": detail,
        "brightness": facts.brightness,
        "sharpness": facts.sharpness,
    }


def _relabel_row(
    cand: Candidate, row: ExistingImage, label_problem: Problem | None
) -> dict[str, Any]:
    problem: str | None = None
    detail: str | None = None
    if row.problem is not None and row.problem not in LABEL_PROBLEMS:  # the file's own problem
        problem, detail = row.problem, row.problem_detail
    elif label_problem is not None:
        problem, detail = label_problem.reason, label_problem.detail
    return {
        "b_id": row.id,
        "b_label": cand.label,
        "b_split": cand.split,
        "b_status": "broken" if problem else "ok",
        "b_problem": problem,
        "b_problem_detail": detail,
        "old_label": row.label,
        "was_missing": row.status == "missing",
        "path": cand.path,
    }


def _stage(store: Store, rows: list[dict[str, Any]]) -> None:
    if rows:
        store.write(lambda c: c.execute(sa.insert(import_staging), rows))


def _discard_staging(store: Store, import_id: int) -> None:
    """Drop a failed import's staging rows and record it as interrupted."""

    def discard(conn: Connection) -> None:
        conn.execute(sa.delete(import_staging).where(import_staging.c.import_id == import_id))
        conn.execute(
            sa.update(imports)
            .where(imports.c.id == import_id)
            .values(stats=json.dumps({"status": "interrupted"}))
        )

    with contextlib.suppress(Exception):  # best effort: the next import clears leftovers
        store.write(discard, budget_s=5)


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
        sub = (
            sa.select(images.c.sha256, sa.func.count().label("n"))
            .where(images.c.status == "ok")
            .group_by(images.c.sha256)
            .having(sa.func.count() > 1)
            .subquery()
        )
        groups, n = conn.execute(sa.select(sa.func.count(), sa.func.sum(sub.c.n))).one()
    return int(groups or 0), int(n or 0)

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
import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.dataset.discover import Candidate, Discovery
from labelaudit.core.dataset.inspect import FileFacts, InspectOptions, inspect_file
from labelaudit.core.dataset.problems import FILE_PROBLEMS, Problem
from labelaudit.core.errors import StoreError
from labelaudit.core.progress import NullProgress, Progress
from labelaudit.core.store.auditlog import log_action
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import (
    classes,
    decisions,
    images,
    import_problems,
    import_staging,
    imports,
    review_requests,
    votes,
)

STAGE_ROWS = 2_000
POOL_MIN_FILES = 256  # below this a process pool costs more than it saves
TASK_FILES = 64  # files per task sent to a worker


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
            "problems": self.problem_counts(),
            "duplicate_groups": self.duplicate_groups,
            "duplicate_images": self.duplicate_images,
            "seconds": round(self.seconds, 3),
            "decoded": self.decoded,
            "images_per_s": round(self.rate, 1),
        }


@dataclass(frozen=True)
class _Existing:
    id: int
    size: int
    mtime_ns: int
    sha256: str | None
    status: str
    problem: str | None
    problem_detail: str | None
    label: str | None
    split: str | None


# -- parallel inspection ---------------------------------------------------------------------------
_worker_options: InspectOptions | None = None


def _init_worker(options: InspectOptions) -> None:
    global _worker_options
    _worker_options = options


def _inspect_batch(paths: list[str]) -> list[FileFacts]:
    assert _worker_options is not None
    return [inspect_file(p, _worker_options) for p in paths]


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def inspect_many(
    paths: list[str], options: InspectOptions, *, workers: int | None = None
) -> Iterator[FileFacts]:
    """Inspect files in order, using every core when there are enough of them."""
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    if n_workers <= 1 or len(paths) < POOL_MIN_FILES:
        for p in paths:
            yield inspect_file(p, options)
        return
    method = "fork" if sys.platform == "linux" else "spawn"
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(n_workers, initializer=_init_worker, initargs=(options,)) as pool:
        for batch in pool.imap(_inspect_batch, _batches(paths, TASK_FILES)):
            yield from batch


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
) -> ImportReport:
    """Import ``discovery`` (from ``discover_folder`` or ``read_manifest``) into ``store``."""
    progress = progress or NullProgress()
    started = time.time()
    t0 = time.perf_counter()
    existing = _load_existing(store)
    import_id = store.write(lambda c: _begin_import(c, source, manifest, started))
    report = ImportReport(import_id=import_id, skipped_non_images=discovery.skipped_non_images)
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
        row: _Existing | None = existing.get(cand.path)
        if (
            row is not None
            and not rehash
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
                progress.advance()
            _stage(store, staged)
        moved_ids = {m[0] for m in moves}
        missing_ids = [
            r.id
            for p, r in existing.items()
            if p not in present and r.id not in moved_ids and r.status != "missing"
        ]
        publish = _Publish(
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
    store.write(lambda c: _finish_import(c, import_id, report))
    return report


def _unchanged_on_disk(path: Path, row: _Existing) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return st.st_size == row.size and st.st_mtime_ns == row.mtime_ns and row.size > 0


def _load_existing(store: Store) -> dict[str, _Existing]:
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
        return {r[0]: _Existing(*r[1:]) for r in rows}  # type: ignore[call-arg]


def _begin_import(conn: Connection, source: str, manifest: Path | None, started: float) -> int:
    # Staging rows of an import that was killed are garbage: clear them.
    stale = sa.select(imports.c.id).where(imports.c.finished_at.is_(None))
    conn.execute(sa.delete(import_staging).where(import_staging.c.import_id.in_(stale)))
    result = conn.execute(
        sa.insert(imports).values(
            started_at=started,
            source=source,
            manifest=str(manifest) if manifest else None,
            stats=json.dumps({"status": "running"}),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


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
    }


def _relabel_row(cand: Candidate, row: _Existing, label_problem: Problem | None) -> dict[str, Any]:
    file_problem = (
        row.problem if row.problem not in (None, "empty_label", "unknown_label") else None
    )
    problem = file_problem or (label_problem.reason if label_problem else None)
    return {
        "b_id": row.id,
        "b_label": cand.label,
        "b_split": cand.split,
        "b_status": "broken" if problem else "ok",
        "b_problem": problem,
        "old_label": row.label,
        "was_missing": row.status == "missing",
        "path": cand.path,
    }


def _stage(store: Store, rows: list[dict[str, Any]]) -> None:
    if rows:
        store.write(lambda c: c.execute(sa.insert(import_staging), rows))


def _discard_staging(store: Store, import_id: int) -> None:
    with contextlib.suppress(Exception):  # best effort: the next import clears leftovers
        store.write(
            lambda c: c.execute(
                sa.delete(import_staging).where(import_staging.c.import_id == import_id)
            ),
            budget_s=5,
        )


def _finish_import(conn: Connection, import_id: int, report: ImportReport) -> None:
    stats = {"status": "done", **report.as_dict()}
    conn.execute(
        sa.update(imports)
        .where(imports.c.id == import_id)
        .values(finished_at=time.time(), stats=json.dumps(stats))
    )


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


@dataclass
class _Publish:
    """The one short transaction that makes an import visible."""

    import_id: int
    started: float
    relabels: list[dict[str, Any]]
    changed_ids: list[int]
    moves: list[tuple[int, str, str]]
    missing_ids: list[int]
    problems: list[Problem]
    existing: dict[str, _Existing]

    def run(self, conn: Connection) -> dict[str, int]:
        self._check_no_concurrent_import(conn)
        now = time.time()
        class_ids = self._ensure_classes(conn, now)
        staged = import_staging.c
        new = conn.execute(
            sa.insert(images).from_select(
                [
                    "path",
                    "class_id",
                    "split",
                    "size",
                    "mtime_ns",
                    "sha256",
                    "width",
                    "height",
                    "mode",
                    "format",
                    "status",
                    "problem",
                    "problem_detail",
                    "created_at",
                    "updated_at",
                ],
                sa.select(
                    staged.path,
                    classes.c.id,
                    staged.split,
                    staged.size,
                    staged.mtime_ns,
                    staged.sha256,
                    staged.width,
                    staged.height,
                    staged.mode,
                    staged.format,
                    staged.status,
                    staged.problem,
                    staged.problem_detail,
                    sa.literal(now),
                    sa.literal(now),
                )
                .select_from(import_staging.outerjoin(classes, classes.c.name == staged.label))
                .where(staged.import_id == self.import_id, staged.action == "new")
                .order_by(staged.path),
            )
        ).rowcount
        updated = self._apply_updates(conn, class_ids, now)
        restored = sum(1 for r in self.relabels if r["was_missing"])
        relabelled = self._apply_relabels(conn, class_ids, now)
        self._mark_missing(conn, now)
        self._mark_changed(conn, now)
        self._record_problems(conn)
        conn.execute(sa.delete(import_staging).where(staged.import_id == self.import_id))
        log_action(conn, "import", target=str(self.import_id), details={"new": new})
        return {"new": new, "updated": updated, "relabelled": relabelled, "restored": restored}

    def _check_no_concurrent_import(self, conn: Connection) -> None:
        other = conn.execute(
            sa.select(sa.func.count())
            .select_from(imports)
            .where(imports.c.id != self.import_id, imports.c.finished_at >= self.started)
        ).scalar()
        if other:
            raise StoreError("another import finished while this one ran; run the import again")

    def _ensure_classes(self, conn: Connection, now: float) -> dict[str, int]:
        staged_labels = conn.execute(
            sa.select(import_staging.c.label)
            .where(import_staging.c.import_id == self.import_id, import_staging.c.label.isnot(None))
            .distinct()
        ).scalars()
        wanted = set(staged_labels) | {r["b_label"] for r in self.relabels if r["b_label"]}
        known = dict(conn.execute(sa.select(classes.c.name, classes.c.id)).all())
        for name in sorted(wanted - known.keys()):
            inserted = conn.execute(sa.insert(classes).values(name=name, created_at=now))
            known[name] = inserted.inserted_primary_key[0]  # type: ignore[index]
            log_action(conn, "add_class", target=name)
        return known

    def _apply_updates(self, conn: Connection, class_ids: dict[str, int], now: float) -> int:
        rows = conn.execute(
            sa.select(import_staging).where(
                import_staging.c.import_id == self.import_id,
                import_staging.c.action.in_(("update", "move")),
            )
        ).mappings()
        by_id = {r.id: (path, r) for path, r in self.existing.items()}
        params = []
        for r in rows:
            old_path, old = by_id[r["image_id"]]
            params.append(
                {
                    "b_id": r["image_id"],
                    "b_path": r["path"],
                    "b_class_id": class_ids.get(r["label"]) if r["label"] else None,
                    **{f"b_{k}": r[k] for k in _FACT_COLUMNS},
                    "b_now": now,
                }
            )
            if r["action"] == "move":
                log_action(conn, "move", target=r["path"], details={"from": old_path})
            if old.label != r["label"]:
                log_action(
                    conn,
                    "given_label",
                    target=r["path"],
                    details={"from": old.label, "to": r["label"]},
                )
        if params:
            conn.execute(
                sa.update(images)
                .where(images.c.id == sa.bindparam("b_id"))
                .values(
                    path=sa.bindparam("b_path"),
                    class_id=sa.bindparam("b_class_id"),
                    updated_at=sa.bindparam("b_now"),
                    **{k: sa.bindparam(f"b_{k}") for k in _FACT_COLUMNS},
                ),
                params,
            )
        return len(params)

    def _apply_relabels(self, conn: Connection, class_ids: dict[str, int], now: float) -> int:
        if not self.relabels:
            return 0
        params = [
            {
                "b_id": r["b_id"],
                "b_class_id": class_ids.get(r["b_label"]) if r["b_label"] else None,
                "b_split": r["b_split"],
                "b_status": r["b_status"],
                "b_problem": r["b_problem"],
                "b_now": now,
            }
            for r in self.relabels
        ]
        conn.execute(
            sa.update(images)
            .where(images.c.id == sa.bindparam("b_id"))
            .values(
                class_id=sa.bindparam("b_class_id"),
                split=sa.bindparam("b_split"),
                status=sa.bindparam("b_status"),
                problem=sa.bindparam("b_problem"),
                updated_at=sa.bindparam("b_now"),
            ),
            params,
        )
        relabelled = 0
        for r in self.relabels:
            if r["old_label"] != r["b_label"]:
                relabelled += 1
                log_action(
                    conn,
                    "given_label",
                    target=r["path"],
                    details={"from": r["old_label"], "to": r["b_label"]},
                )
        return relabelled

    def _mark_missing(self, conn: Connection, now: float) -> None:
        for chunk in _chunks(self.missing_ids, 500):
            conn.execute(
                sa.update(images)
                .where(images.c.id.in_(chunk))
                .values(status="missing", updated_at=now)
            )
        if self.missing_ids:
            log_action(conn, "missing", details={"count": len(self.missing_ids)})

    def _mark_changed(self, conn: Connection, now: float) -> None:
        for chunk in _chunks(self.changed_ids, 500):
            conn.execute(sa.update(votes).where(votes.c.image_id.in_(chunk)).values(stale=True))
            conn.execute(
                sa.update(decisions).where(decisions.c.image_id.in_(chunk)).values(stale=True)
            )
            conn.execute(
                sa.insert(review_requests),
                [{"image_id": i, "reason": "changed", "created_at": now} for i in chunk],
            )
        for image_id in self.changed_ids:
            log_action(conn, "content_changed", target=str(image_id))

    def _record_problems(self, conn: Connection) -> None:
        if self.problems:
            conn.execute(
                sa.insert(import_problems),
                [
                    {
                        "import_id": self.import_id,
                        "path": p.path,
                        "reason": p.reason,
                        "detail": p.detail,
                    }
                    for p in self.problems
                ],
            )


_FACT_COLUMNS = (
    "split",
    "size",
    "mtime_ns",
    "sha256",
    "width",
    "height",
    "mode",
    "format",
    "status",
    "problem",
    "problem_detail",
)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

"""The ``imports`` and ``import_staging`` rows of one import run (``importer.run_import``): begin
(recording killed imports as interrupted), heartbeat, staged rows, discard on failure."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.dataset.discover import Candidate
from labelaudit.core.dataset.inspect import FileFacts
from labelaudit.core.dataset.liveness import running_stats, unfinished_state
from labelaudit.core.dataset.problems import LABEL_PROBLEMS, Problem
from labelaudit.core.dataset.publish import ExistingImage
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import classes, images, import_staging, imports


def load_existing(store: Store) -> dict[str, ExistingImage]:
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


def begin_import(conn: Connection, source: str, manifest: Path | None, started: float) -> int:
    mark_interrupted(conn)
    result = conn.execute(
        sa.insert(imports).values(
            started_at=started,
            source=source,
            manifest=str(manifest) if manifest else None,
            stats=running_stats(now=started),
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def mark_interrupted(conn: Connection) -> None:
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


def heartbeat(store: Store, import_id: int) -> None:
    store.write(
        lambda c: c.execute(
            sa.update(imports).where(imports.c.id == import_id).values(stats=running_stats())
        )
    )


def stage_row(
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


def relabel_row(
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


def discard_staging(store: Store, import_id: int) -> None:
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

"""The one short transaction that makes an import visible (see ``importer``)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.dataset.problems import Problem
from labelaudit.core.errors import StoreError
from labelaudit.core.store.auditlog import log_action
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


@dataclass(frozen=True)
class ExistingImage:
    """An image row as an import finds it before publishing."""

    id: int
    size: int
    mtime_ns: int
    sha256: str | None
    status: str
    problem: str | None
    problem_detail: str | None
    label: str | None
    split: str | None


@dataclass
class Publish:
    """The one short transaction that makes an import visible."""

    import_id: int
    started: float
    relabels: list[dict[str, Any]]
    changed_ids: list[int]
    moves: list[tuple[int, str, str]]
    missing_ids: list[int]
    problems: list[Problem]
    existing: dict[str, ExistingImage]

    def run(self, conn: Connection) -> dict[str, int]:
        self._check_no_concurrent_import(conn)
        now = time.time()
        class_ids = self._ensure_classes(conn, now)
        staged = import_staging.c
        new = conn.execute(
            sa.insert(images).from_select(
                ["path", "class_id", *_FACT_COLUMNS, "created_at", "updated_at"],
                sa.select(
                    staged.path,
                    classes.c.id,
                    *(staged[name] for name in _FACT_COLUMNS),
                    sa.literal(now),
                    sa.literal(now),
                )
                .select_from(import_staging.outerjoin(classes, classes.c.name == staged.label))
                .where(staged.import_id == self.import_id, staged.action == "new")
                .order_by(staged.path),
            )
        ).rowcount
        if new < 0:  # psycopg reports no row count for INSERT ... SELECT
            new = self._count_new(conn)
        updated, relabelled_by_update = self._apply_updates(conn, class_ids, now)
        restored = sum(1 for r in self.relabels if r["was_missing"])
        relabelled = self._apply_relabels(conn, class_ids, now) + relabelled_by_update
        self._mark_missing(conn, now)
        self._mark_changed(conn, now)
        self._record_problems(conn)
        conn.execute(sa.delete(import_staging).where(staged.import_id == self.import_id))
        log_action(conn, "import", target=str(self.import_id), details={"new": new})
        return {"new": new, "updated": updated, "relabelled": relabelled, "restored": restored}

    def _count_new(self, conn: Connection) -> int:
        staged = import_staging.c
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(import_staging)
                .where(staged.import_id == self.import_id, staged.action == "new")
            ).scalar_one()
        )

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

    def _apply_updates(
        self, conn: Connection, class_ids: dict[str, int], now: float
    ) -> tuple[int, int]:
        """(updated, relabelled): a file moved into another class folder changes its given
        label, and that is counted as such, never only as a move."""
        rows = conn.execute(
            sa.select(import_staging).where(
                import_staging.c.import_id == self.import_id,
                import_staging.c.action.in_(("update", "move")),
            )
        ).mappings()
        by_id = {r.id: (path, r) for path, r in self.existing.items()}
        params = []
        relabelled = 0
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
                relabelled += 1
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
        return len(params), relabelled

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
                "b_problem_detail": r["b_problem_detail"],
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
                problem_detail=sa.bindparam("b_problem_detail"),
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
    "brightness",
    "sharpness",
)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

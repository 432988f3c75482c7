"""What ``labelaudit info`` shows: images per class, problems by reason, scans, votes."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from labelaudit.core.consensus.vote_counts import count_votes
from labelaudit.core.dataset.importer import duplicate_counts
from labelaudit.core.dataset.liveness import unfinished_state
from labelaudit.core.dataset.problems import LABEL_PROBLEMS, REASONS
from labelaudit.core.store.engine import Store, public_url
from labelaudit.core.store.schema import (
    annotators,
    classes,
    images,
    import_problems,
    imports,
    scans,
)
from labelaudit.core.views.staleness import scan_staleness


def project_info(store: Store, *, max_paths: int | None = None) -> dict[str, Any]:
    """A JSON-ready description of the project's contents."""
    with store.read() as conn:
        totals, per_class = _class_counts(conn)
        unlabelled = _unlabelled(conn)
        last_import = conn.execute(
            sa.select(imports.c.id, imports.c.stats)
            .where(imports.c.finished_at.isnot(None))
            .order_by(imports.c.id.desc())
            .limit(1)
        ).first()
        unfinished = _unfinished_imports(conn, after=last_import.id if last_import else 0)
        problems: dict[str, dict[str, Any]] = {}
        if last_import is not None:
            for path, reason, detail in conn.execute(
                sa.select(
                    import_problems.c.path, import_problems.c.reason, import_problems.c.detail
                )
                .where(import_problems.c.import_id == last_import.id)
                .order_by(import_problems.c.reason, import_problems.c.path)
            ):
                entry = problems.setdefault(
                    reason, {"description": REASONS.get(reason, reason), "count": 0, "paths": []}
                )
                entry["count"] += 1
                if max_paths is None or len(entry["paths"]) < max_paths:
                    entry["paths"].append(path if detail is None else f"{path} ({detail})")
        scan_rows = [
            {
                "id": r.id,
                "status": r.status,
                "kind": r.kind,
                "created_at": r.created_at,
                "n_images": r.n_images,
                "model": json.loads(r.config).get("model"),
            }
            for r in conn.execute(sa.select(scans).order_by(scans.c.id))
        ]
        counted = count_votes(conn)  # current votes, as agreement, votes export and the app
        roles = dict(conn.execute(sa.select(annotators.c.name, annotators.c.role)).all())
        annotator_list = [
            {
                "name": name,
                "role": roles[name],
                "votes": n,
                "unsure": counted.abstaining[name],
                "vote_records": counted.records[name],
            }
            for name, n in counted.current.items()
        ]
        duplicate_list = duplicate_groups(conn)
        missing_paths = list(
            conn.execute(
                sa.select(images.c.path).where(images.c.status == "missing").order_by(images.c.path)
            ).scalars()
        )
    groups, dup_images = duplicate_counts(store)
    # Finished scans whose images, labels or classes no longer match the project: reasons, else [].
    stale = scan_staleness(store) if any(s["status"] == "done" for s in scan_rows) else {}
    for scan in scan_rows:
        scan["stale"] = stale.get(scan["id"])
    return {
        "database": public_url(store.url),
        "images": totals,
        "classes": dict(sorted(per_class.items())),
        "unlabelled": unlabelled,
        "problems": problems,
        "duplicates": {"groups": groups, "images": dup_images},
        "duplicate_groups": duplicate_list,
        "missing_paths": missing_paths,
        "last_import": json.loads(last_import.stats) if last_import is not None else None,
        "unfinished_imports": unfinished,
        "scans": scan_rows,
        "annotators": annotator_list,
        "votes": counted.total_current,
        "votes_unsure": counted.total_abstaining,
        "vote_records": counted.total_records,
    }


def _unfinished_imports(conn: sa.Connection, *, after: int) -> list[dict[str, Any]]:
    """Imports started after the latest finished one that never finished: ``running`` (its
    process is alive) or ``interrupted`` (killed; its files are not in the project)."""
    rows = conn.execute(
        sa.select(imports.c.id, imports.c.started_at, imports.c.source, imports.c.stats)
        .where(imports.c.finished_at.is_(None), imports.c.id > after)
        .order_by(imports.c.id)
    )
    out = []
    for import_id, started_at, source, stats in rows:
        try:
            recorded = json.loads(stats)
        except ValueError:
            recorded = {}
        out.append(
            {
                "id": import_id,
                "status": unfinished_state(stats),
                "started_at": started_at,
                "source": source,
                "pid": recorded.get("pid"),
                "host": recorded.get("host"),
            }
        )
    return out


def _class_counts(conn: sa.Connection) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """(totals, per class) by status. Images without a class because of their label (outside
    ``--classes``, empty) count as ``unlabelled``, not as broken images of a "(no label)" class;
    "(no label)" remains only for class-less images with another status or problem."""
    per_class: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {"ok": 0, "broken": 0, "missing": 0, "unlabelled": 0}
    rows = conn.execute(
        sa.select(classes.c.name, images.c.status, images.c.problem, sa.func.count())
        .select_from(images.outerjoin(classes, images.c.class_id == classes.c.id))
        .group_by(classes.c.name, images.c.status, images.c.problem)
    )
    for name, status, problem, count in rows:
        if name is None and status == "broken" and problem in LABEL_PROBLEMS:
            totals["unlabelled"] += count
            continue
        key = name if name is not None else "(no label)"
        counts = per_class.setdefault(key, {"ok": 0, "broken": 0, "missing": 0})
        counts[status] = counts.get(status, 0) + count
        totals[status] = totals.get(status, 0) + count
    for name in conn.execute(sa.select(classes.c.name)).scalars():
        per_class.setdefault(name, {"ok": 0, "broken": 0, "missing": 0})
    return totals, per_class


def _unlabelled(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    """Images kept out because of their label, by reason, with the labels they carry (the folder
    or manifest label outside ``--classes``): {reason: {description, count, labels}}."""
    out: dict[str, dict[str, Any]] = {}
    rows = conn.execute(
        sa.select(images.c.problem, images.c.problem_detail, sa.func.count())
        .where(
            images.c.class_id.is_(None),
            images.c.status == "broken",
            images.c.problem.in_(sorted(LABEL_PROBLEMS)),
        )
        .group_by(images.c.problem, images.c.problem_detail)
        .order_by(images.c.problem, images.c.problem_detail)
    )
    for reason, label, count in rows:
        entry = out.setdefault(
            reason, {"description": REASONS.get(reason, reason), "count": 0, "labels": {}}
        )
        entry["count"] += count
        if label is not None:
            entry["labels"][label] = count
    return out


def duplicate_groups(conn: sa.Connection) -> list[dict[str, Any]]:
    """Exact duplicates among valid images: each group's sha256, paths, their given labels (None:
    no label) and whether those labels disagree. Groups with conflicting labels come first."""
    shared = (
        sa.select(images.c.sha256)
        .where(images.c.status == "ok")
        .group_by(images.c.sha256)
        .having(sa.func.count() > 1)
    )
    rows = conn.execute(
        sa.select(images.c.sha256, images.c.path, classes.c.name)
        .select_from(images.outerjoin(classes, images.c.class_id == classes.c.id))
        .where(images.c.status == "ok", images.c.sha256.in_(shared))
        .order_by(images.c.sha256, images.c.path)
    )
    by_sha: dict[str, dict[str, Any]] = {}
    for sha, path, label in rows:
        group = by_sha.setdefault(sha, {"sha256": sha, "paths": [], "labels": []})
        group["paths"].append(path)
        group["labels"].append(label)
    out = list(by_sha.values())
    for group in out:
        group["labels_conflict"] = len(set(group["labels"])) > 1
    return sorted(out, key=lambda g: (not g["labels_conflict"], g["paths"][0]))

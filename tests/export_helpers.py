"""Helpers for the export and retraining tests: projects with a stored scan, manifest reading."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from helpers import make_tree
from labelaudit.core.codes import Issue
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.export.options import ExportOptions
from labelaudit.core.project import Project
from labelaudit.core.store.scan_results import save_arrays
from labelaudit.core.store.schema import scans
from labelaudit.core.usecases.export import ExportResult, export_dataset


def make_project(
    tmp_path: Path, counts: dict[str, int], *, db_url: str | None = None, ext: str = "png"
) -> Project:
    root = make_tree(tmp_path / "images", counts, ext=ext)
    project = Project.create(tmp_path / "project", root, db_url=db_url)
    project.import_images(workers=1)
    return project


def project_fixture(tmp_path: Path, counts: dict[str, int]) -> Iterator[Project]:
    """Body of a ``project`` fixture: a fresh imported project, closed afterwards."""
    proj = make_project(tmp_path, counts)
    yield proj
    proj.close()


def ids_by_path(project: Project) -> dict[str, int]:
    catalog = load_catalog(project.store)
    assert catalog.paths is not None
    return {p: int(i) for p, i in zip(catalog.paths, catalog.image_ids)}


def store_scan(
    project: Project,
    *,
    flagged: dict[str, tuple[str, float]] | None = None,
    near_dups: list[list[str]] | None = None,
) -> int:
    """A finished scan as ``labelaudit scan`` stores it: ``flagged`` maps a path to the
    suggested class and its probability; every other image looks right (p=0.9)."""
    flagged = flagged or {}
    catalog = load_catalog(project.store, valid_only=True)
    assert catalog.paths is not None
    names = catalog.class_names
    n, k = len(catalog), len(names)
    suggested = catalog.labels.copy()
    prob = np.full(n, 0.9, dtype=np.float32)
    issue = np.zeros(n, dtype=bool)
    for i, path in enumerate(catalog.paths):
        if path in flagged:
            cls, p = flagged[path]
            suggested[i], prob[i], issue[i] = names.index(cls), p, True
    pred = np.full((n, k), 0.0, dtype=np.float32)
    pred[np.arange(n), suggested] = prob
    rest = (1 - prob) / max(k - 1, 1)
    pred += np.where(pred == 0, rest[:, None], 0).astype(np.float32)
    groups = np.full(n, -1, dtype=np.int64)
    for g, members in enumerate(near_dups or []):
        for path in members:
            groups[catalog.paths.index(path)] = g
    arrays = {
        "image_ids": catalog.image_ids,
        "labels": catalog.labels,
        "pred_probs": pred,
        "suggested": suggested,
        "suggested_prob": prob,
        "label_quality": pred[np.arange(n), catalog.labels].astype(np.float32),
        "is_label_issue": issue,
        "issue_flags": np.where(issue, Issue.LABEL, 0).astype(np.uint8),
        "near_dup_group": groups,
    }

    def write(conn: sa.Connection) -> int:
        now = time.time()
        scan_id = int(
            conn.execute(
                sa.insert(scans).values(
                    created_at=now,
                    finished_at=now,
                    status="done",
                    kind="pred_probs",
                    config=json.dumps({"model": "test"}),
                    versions=json.dumps({"cleanlab": "test"}),
                    class_names=json.dumps(names),
                    n_images=n,
                )
            ).inserted_primary_key[0]
        )
        save_arrays(conn, scan_id, arrays)
        return scan_id

    return project.store.write(write)


def export(project: Project, out: Path, **options: object) -> ExportResult:
    return export_dataset(project, out, ExportOptions(**options))  # type: ignore[arg-type]


def read_manifest(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def by_source(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """Manifest rows of each image's own copy (repeats left out), keyed by source path."""
    return {r["source_path"]: r for r in rows if "__rep" not in r["path"]}

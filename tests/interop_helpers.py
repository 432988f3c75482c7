"""Helpers for the interop tests: the image tree the fixtures in tests/fixtures/interop name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from helpers import write_image
from labelaudit.core.dataset.source import ImportSource
from labelaudit.core.interop import store_io
from labelaudit.core.interop.model import ForeignExport
from labelaudit.core.project import Project
from labelaudit.core.store.schema import annotators, classes, images, votes

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "interop"
IMAGES = ("cat/001.png", "cat/002.png", "dog/001.png", "dog/002.png", "oiseaux/bébé ü.png")
CLASSES = {"cat", "dog", "chouette-été"}


def image_tree(root: Path) -> Path:
    """The images every fixture refers to (distinct content, unicode name included)."""
    for i, rel in enumerate(IMAGES):
        write_image(root / rel, seed=500 + i)
    return root


def fixture(name: str, tmp: Path) -> Path:
    """A copy of a fixture file (tests may break their copy)."""
    target = tmp / name
    shutil.copyfile(FIXTURES / name, target)
    return target


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def project_from(
    folder: Path, root: Path, export: ForeignExport, *, db_url: str | None = None
) -> Project:
    """A project made the way ``init --from`` makes it (manifest, then classes and votes)."""
    project = Project.create(folder, root, db_url=db_url)
    manifest = store_io.write_manifest(export, project.folder)
    project.import_images(source=ImportSource(manifest), workers=1)
    store_io.add_classes(project.store, {v.label for v in export.votes})
    store_io.import_votes(project.store, export)
    return project


def counts(project: Project) -> dict[str, int]:
    """Rows per table: proof that a refused import wrote nothing."""
    out = {}
    with project.store.read() as conn:
        for table in (images, votes, annotators, classes):
            out[table.name] = int(
                conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0
            )
    return out


def stored_votes(project: Project) -> list[tuple[str, str, str]]:
    """(annotator, path, class) of every stored vote, sorted."""
    with project.store.read() as conn:
        rows = conn.execute(
            sa.select(annotators.c.name, images.c.path, classes.c.name).select_from(
                votes.join(annotators, votes.c.annotator_id == annotators.c.id)
                .join(images, votes.c.image_id == images.c.id)
                .outerjoin(classes, votes.c.class_id == classes.c.id)
            )
        ).all()
    return sorted((a, p, c) for a, p, c in rows)

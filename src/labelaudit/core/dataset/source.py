"""Where a project's images and labels come from: a folder-per-class walk or a CSV manifest.

``init`` records the source (manifest path and ``--classes``) in the store, and a later
``labelaudit import`` reuses it, so a re-import never silently switches from a manifest's labels to
folder names. Switching takes an explicit ``--manifest FILE`` or ``--folder``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from labelaudit.core.errors import InputError
from labelaudit.core.paths import disk_path
from labelaudit.core.store.schema import images, imports, meta

META_KEY = "import_source"
ROOT_SAMPLE = 20  # files checked before the image root is re-pointed


@dataclass(frozen=True)
class ImportSource:
    """``manifest`` None walks the image root; ``classes`` None allows any label."""

    manifest: Path | None = None
    classes: tuple[str, ...] | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "manifest": str(self.manifest) if self.manifest else None,
                "classes": list(self.classes) if self.classes is not None else None,
            }
        )


def parse_classes(text: str) -> tuple[str, ...] | None:
    """``--classes A,B``; an empty value drops the restriction."""
    names = sorted({c.strip() for c in text.split(",") if c.strip()})
    return tuple(names) or None


def read_source(conn: sa.Connection) -> ImportSource:
    """The recorded source; projects made before it was recorded fall back to the last import."""
    stored = conn.execute(sa.select(meta.c.value).where(meta.c.key == META_KEY)).scalar()
    if stored is not None:
        data = json.loads(stored)
        classes = data.get("classes")
        return ImportSource(
            Path(data["manifest"]) if data.get("manifest") else None,
            tuple(classes) if classes is not None else None,
        )
    last = conn.execute(
        sa.select(imports.c.manifest)
        .where(imports.c.finished_at.isnot(None))
        .order_by(imports.c.id.desc())
        .limit(1)
    ).scalar()
    return ImportSource(Path(last) if last else None)


def write_source(conn: sa.Connection, source: ImportSource) -> None:
    conn.execute(sa.delete(meta).where(meta.c.key == META_KEY))
    conn.execute(sa.insert(meta).values(key=META_KEY, value=source.to_json()))


def choose_source(
    stored: ImportSource,
    *,
    manifest: Path | None = None,
    folder: bool = False,
    classes: str | None = None,
) -> ImportSource:
    """The source of this import: the stored one unless the user names another explicitly."""
    if manifest is not None and folder:
        raise InputError("give either --manifest FILE or --folder, not both")
    if manifest is not None:
        if not manifest.is_file():
            raise InputError(f"manifest not found: {manifest}")
        chosen: Path | None = Path(os.path.abspath(manifest))
    elif folder:
        chosen = None
    else:
        chosen = stored.manifest
        if chosen is not None and not chosen.is_file():
            raise InputError(
                f"the manifest this project imports from, {chosen}, no longer exists; "
                "give --manifest FILE to use another or --folder to walk the image root"
            )
    allowed = stored.classes if classes is None else parse_classes(classes)
    return ImportSource(chosen, allowed)


@dataclass(frozen=True)
class CopyCheck:
    """How a folder compares with the project's images: stored paths not found there, and
    sampled files whose bytes differ from the stored sha256."""

    checked: int
    absent: list[str]
    sampled: int
    differing: list[str]

    @property
    def same(self) -> bool:
        return not self.absent and not self.differing

    def describe(self) -> str:
        parts = []
        if self.absent:
            parts.append(
                f"{len(self.absent)} of {self.checked} files are not at their stored paths "
                f"(e.g. {self.absent[0]})"
            )
        if self.differing:
            parts.append(
                f"{len(self.differing)} of {self.sampled} sampled files differ from their stored "
                f"content (e.g. {self.differing[0]})"
            )
        return "; ".join(parts) or "the same files"


def check_copy(conn: sa.Connection, root: Path, *, size: int = ROOT_SAMPLE) -> CopyCheck:
    """Compare ``root`` with the project: every image on disk (not marked missing) must be at its
    stored path, and an evenly spread sample of valid images must have its stored sha256."""
    rows = conn.execute(
        sa.select(images.c.path, images.c.sha256, images.c.status)
        .where(images.c.status != "missing")
        .order_by(images.c.id)
    ).all()
    absent = [path for path, _, _ in rows if not disk_path(root, path).is_file()]
    gone = set(absent)
    valid = [(path, sha) for path, sha, status in rows if status == "ok" and sha]
    sample = valid[:: max(1, len(valid) // size)][:size]
    differing = []
    for path, sha in sample:
        if path in gone:
            continue
        try:
            data = disk_path(root, path).read_bytes()
        except OSError:
            differing.append(path)
            continue
        if hashlib.sha256(data).hexdigest() != sha:
            differing.append(path)
    return CopyCheck(len(rows), absent, len(sample), differing)

"""Images as the review code names them: by id, by stored path, or by a path a user typed.

A typed path is relative to the image root or absolute under it (architecture.md §5); the CLI
also takes a path relative to the current folder when it lands inside the image root, so
``vote proj --annotator ann images/cat/1.jpg`` works from the folder holding ``images``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.errors import InputError
from labelaudit.core.paths import to_relpath
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import classes, images

CHUNK = 500


@dataclass(frozen=True)
class ImageRef:
    id: int
    path: str
    class_name: str | None  # the given label now
    status: str  # ok | broken | missing


def load_images(conn: Connection, image_ids: Iterable[int]) -> dict[int, ImageRef]:
    """The images with these ids; InputError naming the first unknown id."""
    wanted = sorted(set(int(i) for i in image_ids))
    found: dict[int, ImageRef] = {}
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start : start + CHUNK]
        rows = conn.execute(
            sa.select(images.c.id, images.c.path, classes.c.name, images.c.status)
            .select_from(images.outerjoin(classes, images.c.class_id == classes.c.id))
            .where(images.c.id.in_(part))
        )
        for r in rows:
            found[int(r.id)] = ImageRef(int(r.id), r.path, r.name, r.status)
    missing = [i for i in wanted if i not in found]
    if missing:
        raise InputError(f"unknown image id {missing[0]}")
    return found


def image_by_path(conn: Connection, relpath: str) -> ImageRef:
    """The image stored under ``relpath`` (the stored, normalised form); InputError if none."""
    row = conn.execute(
        sa.select(images.c.id, images.c.path, classes.c.name, images.c.status)
        .select_from(images.outerjoin(classes, images.c.class_id == classes.c.id))
        .where(images.c.path == relpath)
    ).first()
    if row is None:
        raise InputError(f"no image {relpath!r} in the project")
    return ImageRef(int(row.id), row.path, row.name, row.status)


def _path_candidates(text: str, image_root: Path) -> list[str]:
    """Stored forms ``text`` may mean: relative to the image root (or absolute under it), then
    relative to the current folder when that lands inside the image root."""
    found: list[str] = []
    for typed in (text, os.path.abspath(text)):
        try:
            relpath = to_relpath(typed, image_root)
        except InputError:
            continue
        if relpath not in found:
            found.append(relpath)
    return found


def image_for_path(store: Store, image_root: Path, text: str) -> ImageRef:
    """The image a user named by a path relative to the image root, absolute under it, or
    relative to the current folder and inside the image root (the root-relative reading wins)."""
    candidates = _path_candidates(text, image_root)
    with store.read() as conn:
        for relpath in candidates:
            try:
                return image_by_path(conn, relpath)
            except InputError:
                continue
    if not candidates:
        to_relpath(text, image_root)  # raises why: not under the image root, or escapes it
    raise InputError(
        f"no image {text!r} in the project: paths are relative to the image root {image_root} "
        "(or absolute under it)"
    )

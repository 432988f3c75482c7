"""The project's images as numpy arrays, read in one consistent transaction.

Everything that works on "all images" (scans, the grid's views, exports) starts here rather than
from ORM rows: at 1,000,000 images one Python object per image is too slow and too big.
Shapes: N = number of images returned, K = number of classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import sqlalchemy as sa

from labelaudit.core.codes import ImageStatus
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import classes, images

T = TypeVar("T")

# the store keeps the name, the catalog the code
STATUS_CODES = {status.label: status for status in ImageStatus}


@dataclass(frozen=True)
class Catalog:
    """Images of a project. ``labels[i]`` indexes ``class_names`` (-1: no label)."""

    image_ids: np.ndarray  # int64 (N,)
    labels: np.ndarray  # int64 (N,), class index, -1 when the image has no label
    status: np.ndarray  # uint8 (N,), ImageStatus
    dup_group: np.ndarray  # int64 (N,), exact-duplicate group id (same sha256), -1 when unique
    width: np.ndarray  # int32 (N,), 0 when unknown
    height: np.ndarray  # int32 (N,), 0 when unknown
    class_names: list[str]  # (K,) sorted() of the NFC names: the class index order
    paths: list[str] | None  # (N,) relative POSIX paths, when asked for
    sha256: list[str | None] | None  # (N,), when asked for
    splits: list[str | None] | None  # (N,) imported split column, when asked for
    # float32 (N,) image properties from the import (inspect.image_properties), NaN when unknown;
    # left out (empty), they are all NaN.
    brightness: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float32))
    sharpness: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float32))

    def __post_init__(self) -> None:
        n = len(self)
        for name in ("brightness", "sharpness"):
            if getattr(self, name).shape[0] != n:
                object.__setattr__(self, name, np.full(n, np.nan, dtype=np.float32))

    def __len__(self) -> int:
        return int(self.image_ids.shape[0])

    @property
    def valid(self) -> np.ndarray:
        """bool (N,): images a scan or an export may use (decoded fine, labelled, on disk)."""
        return (self.status == ImageStatus.OK) & (self.labels >= 0)

    def subset(self, mask_or_index: np.ndarray) -> Catalog:
        idx = np.flatnonzero(mask_or_index) if mask_or_index.dtype == bool else mask_or_index

        def pick(seq: list[T] | None) -> list[T] | None:
            return None if seq is None else [seq[i] for i in idx]

        return Catalog(
            image_ids=self.image_ids[idx],
            labels=self.labels[idx],
            status=self.status[idx],
            dup_group=self.dup_group[idx],
            width=self.width[idx],
            height=self.height[idx],
            class_names=self.class_names,
            paths=pick(self.paths),
            sha256=pick(self.sha256),
            splits=pick(self.splits),
            brightness=self.brightness[idx],
            sharpness=self.sharpness[idx],
        )


def load_catalog(
    store: Store, *, valid_only: bool = False, with_paths: bool = True, with_splits: bool = False
) -> Catalog:
    """Every image of the project, ordered by image id (or only valid ones)."""
    with store.read() as conn:
        names = sorted(conn.execute(sa.select(classes.c.name)).scalars())
        id_to_name = dict(conn.execute(sa.select(classes.c.id, classes.c.name)).all())
        columns = [
            images.c.id,
            images.c.class_id,
            images.c.status,
            images.c.sha256,
            images.c.width,
            images.c.height,
            images.c.brightness,
            images.c.sharpness,
        ]
        if with_paths:
            columns.append(images.c.path)
        if with_splits:
            columns.append(images.c.split)
        query = sa.select(*columns).order_by(images.c.id)
        if valid_only:
            query = query.where(images.c.status == "ok", images.c.class_id.isnot(None))
        rows = conn.execute(query).all()
    index_of = {name: i for i, name in enumerate(names)}
    class_index = {cid: index_of[name] for cid, name in id_to_name.items()}
    n = len(rows)
    image_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    labels = np.fromiter(
        (class_index[r[1]] if r[1] is not None else -1 for r in rows), dtype=np.int64, count=n
    )
    status = np.fromiter((STATUS_CODES[r[2]] for r in rows), dtype=np.uint8, count=n)
    shas = [r[3] for r in rows]
    width = np.fromiter((r[4] or 0 for r in rows), dtype=np.int32, count=n)
    height = np.fromiter((r[5] or 0 for r in rows), dtype=np.int32, count=n)
    brightness = np.array([r[6] for r in rows], dtype=np.float32).reshape(n)  # None -> NaN
    sharpness = np.array([r[7] for r in rows], dtype=np.float32).reshape(n)
    return Catalog(
        image_ids=image_ids,
        labels=labels,
        status=status,
        dup_group=duplicate_groups(shas, status),
        width=width,
        height=height,
        class_names=names,
        paths=[r[8] for r in rows] if with_paths else None,
        sha256=shas,
        splits=[r[-1] for r in rows] if with_splits else None,
        brightness=brightness,
        sharpness=sharpness,
    )


def duplicate_groups(shas: list[str | None], status: np.ndarray) -> np.ndarray:
    """int64 (N,): a group id shared by valid images with equal sha256; -1 for unique images."""
    first: dict[str, int] = {}
    counts: dict[str, int] = {}
    ok = status == ImageStatus.OK  # one array comparison: an IntEnum per numpy scalar is slow
    for i, sha in enumerate(shas):
        if sha is not None and ok[i]:
            counts[sha] = counts.get(sha, 0) + 1
            first.setdefault(sha, i)
    out = np.full(len(shas), -1, dtype=np.int64)
    group_of: dict[str, int] = {}
    for i, sha in enumerate(shas):
        if sha is not None and ok[i] and counts[sha] > 1:
            out[i] = group_of.setdefault(sha, len(group_of))
    return out

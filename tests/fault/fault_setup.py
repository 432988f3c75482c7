"""Scenes for the fault-injection campaigns: image trees, projects, and the user's files around
them whose bytes are snapshotted before the faults and compared after each one."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from fault_checks import (
    check_foreign_tables,
    compare_digests,
    digest_tree,
    plant_foreign_tables,
    plant_sentinels,
)
from helpers import write_image

IMAGE_EXT = ".png"


def backend_name(db_url: str | None) -> str:
    return "sqlite" if db_url is None else "postgres"


def db_args(db_url: str | None, schema: str | None = None) -> list[str]:
    """``--db URL`` for a PostgreSQL project (in its own schema where one is named)."""
    if db_url is None:
        return []
    return ["--db", f"{db_url}?schema={schema}" if schema else db_url]


def make_images(
    root: Path,
    counts: dict[str, int],
    *,
    size: tuple[int, int] = (24, 24),
    seed: int = 0,
    distinct: int | None = None,
) -> list[str]:
    """Random PNGs, root/<class>/<i>.png; returns their root-relative paths. With ``distinct``,
    only that many are made and the rest are copies (exact duplicates, as datasets have): large
    images are slow to encode, cheap to copy."""
    made: list[str] = []
    k = seed * 100_000
    for cls, n in counts.items():
        for i in range(n):
            rel = f"{cls}/{i:04d}{IMAGE_EXT}"
            if distinct is not None and len(made) >= distinct:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(root / made[len(made) % distinct], root / rel)
            else:
                write_image(root / rel, seed=k, size=size)
            made.append(rel)
            k += 1
    return made


def images_on_disk(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob(f"*{IMAGE_EXT}")}


@dataclass
class Scene:
    """An image tree and the user's files around it (sentinels), watched for any change, and
    another application's tables where the store is PostgreSQL."""

    base: Path
    root: Path
    db_url: str | None
    watched: list[Path] = field(default_factory=list)
    digest: dict[str, str] = field(default_factory=dict)

    @classmethod
    def make(
        cls, base: Path, counts: dict[str, int], *, db_url: str | None, seed: int, **kw: object
    ) -> Scene:
        root = base / "images"
        make_images(root, counts, seed=seed, **kw)  # type: ignore[arg-type]
        scene = cls(base, root, db_url, watched=[root])
        plant_sentinels(root, "inside the image root")  # not images: the walk skips them
        plant_sentinels(root / next(iter(counts)), "inside a class folder")
        scene.watch(*plant_sentinels(base, "beside the project"))
        if db_url is not None:
            plant_foreign_tables(db_url)
        return scene

    def watch(self, *paths: Path) -> None:
        self.watched += paths

    def seal(self) -> None:
        """Snapshot every watched file; call once the scene is complete."""
        self.digest = digest_tree(self.watched)

    def untouched(self) -> list[str]:
        return compare_digests(self.digest, self.watched) + check_foreign_tables(self.db_url)


def new_project(scene: Scene, folder: Path, *, schema: str | None = None) -> Path:
    """A project made through the API (set-up, not under test), imported in this process."""
    from labelaudit.core.project import Project

    url = f"{scene.db_url}?schema={schema}" if scene.db_url and schema else scene.db_url
    with Project.create(folder, scene.root, db_url=url) as project:
        project.import_images(workers=1)
    return folder


@contextlib.contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one campaign of the script (the tests use ``pg_url``)."""
    from labelaudit.core.store.engine import normalize_url

    admin = normalize_url(admin_url)
    name = f"la_fault_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()

"""Project: the one facade the CLI and the app talk to.

A project is a folder holding ``project.json`` (identity and where the data lives), the SQLite
database ``labelaudit.db`` (unless ``--db URL`` puts the data in PostgreSQL) and a thumbnail cache.
Images stay where they are: nothing here ever modifies, moves or deletes a source image.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from labelaudit import __version__
from labelaudit.core import settings as settings_mod
from labelaudit.core.dataset.discover import Discovery, discover_folder, read_manifest
from labelaudit.core.dataset.importer import ImportReport, run_import
from labelaudit.core.dataset.source import CopyCheck, ImportSource, check_copy, read_source
from labelaudit.core.errors import InputError, ProjectError
from labelaudit.core.folder_claim import FolderClaim
from labelaudit.core.paths import is_within, nfc
from labelaudit.core.progress import Progress
from labelaudit.core.store.auditlog import log_action
from labelaudit.core.store.engine import (
    DEFAULT_PG_SCHEMA,
    LEGACY_PG_SCHEMA,
    Store,
    names_schema,
    normalize_url,
    pg_schema,
    public_url,
    sqlite_url,
    with_schema,
)
from labelaudit.core.store.migrations import create_schema
from labelaudit.core.store.namespace import (
    claim_schema,
    drop_own,
    open_store,
    refuse_foreign,
    refuse_foreign_sqlite,
)
from labelaudit.core.store.schema import classes, meta

PROJECT_FILE = "project.json"
DB_FILE = "labelaudit.db"
THUMB_DIR = "thumbs"
ENV_DB = "LABELAUDIT_DB"
# What create() and the first import write into a new project folder: all a failed init removes.
OWN_FILES = (
    PROJECT_FILE,
    PROJECT_FILE + ".tmp",
    DB_FILE,
    DB_FILE + "-wal",
    DB_FILE + "-shm",
    DB_FILE + "-journal",
    THUMB_DIR,
)


def _resolve_db_url(db_url: str | None) -> str | None:
    return db_url or os.environ.get(ENV_DB) or None


class Project:
    """An open project: its folder, store and image root."""

    def __init__(self, folder: Path, store: Store, image_root: Path, project_id: str) -> None:
        self.folder = folder
        self.store = store
        self.image_root = image_root
        self.project_id = project_id
        self._new: _NewProject | None = None  # set by create(): what discard_new may undo

    # -- lifecycle -----------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: Path, image_root: Path, *, db_url: str | None = None) -> Project:
        """Create an empty project for the images under ``image_root``.

        The folder is claimed exclusively first (folder_claim.py); on PostgreSQL the tables go to
        their own schema (store/namespace.py). A failure undoes only what this call made."""
        folder = Path(os.path.abspath(folder))
        image_root = Path(os.path.abspath(image_root))
        if not image_root.is_dir():
            raise InputError(f"image folder not found: {image_root}")
        _check_apart(folder, image_root)
        url_text = _resolve_db_url(db_url)
        url = normalize_url(url_text) if url_text else None  # a bad URL before any file is made
        if url is not None and url.get_backend_name() != "sqlite":
            url = with_schema(url, pg_schema(url) or DEFAULT_PG_SCHEMA)
        elif url is not None and url.database:
            refuse_foreign_sqlite(Path(url.database))
        claim = FolderClaim.take(folder, own_files=OWN_FILES, marker=PROJECT_FILE)
        project: Project | None = None
        try:
            store = Store(url or sqlite_url(folder / DB_FILE))
            store.ping()
            project_id = str(uuid.uuid4())
            created_schema = store.write(
                lambda conn: _init_store(conn, store, project_id, folder, image_root)
            )
            project = cls(folder, store, image_root, project_id)
            project._new = _NewProject(claim, created_schema)
            _write_project_file(folder, project_id, url and public_url(url), image_root)
        except BaseException:
            if project is not None:  # the tables were committed: drop them again
                project.discard_new()
            claim.undo()
            raise
        claim.release()
        return project

    @classmethod
    def open(cls, folder: Path, *, db_url: str | None = None) -> Project:
        folder = Path(os.path.abspath(folder))
        info_file = folder / PROJECT_FILE
        url_text = _resolve_db_url(db_url)
        if not info_file.is_file():
            if url_text and (not folder.exists() or folder.is_dir()):
                return cls._attach(folder, url_text)
            if not folder.is_dir():
                raise ProjectError(f"no project at {folder} (create one with 'labelaudit init')")
            raise ProjectError(f"{folder} is not a labelaudit project (no {PROJECT_FILE})")
        info = _read_project_file(folder)
        stored_id = str(info["project_id"])
        if url_text:
            url = normalize_url(url_text)
        elif info.get("db"):
            url = normalize_url(info["db"])
            if url.get_backend_name() != "sqlite" and not names_schema(url):
                # Written by labelaudit 0.1.0, which kept its tables in PostgreSQL's public.
                url = with_schema(url, LEGACY_PG_SCHEMA)
        else:
            if not (folder / DB_FILE).is_file():
                raise ProjectError(f"the project database {folder / DB_FILE} is missing")
            url = sqlite_url(folder / DB_FILE)
        store = open_store(url)
        with store.read() as conn:
            facts = dict(conn.execute(sa.select(meta.c.key, meta.c.value)).all())
        if facts.get("project_id") != stored_id:
            raise ProjectError(
                f"the database {public_url(url)} belongs to another project than {folder}"
            )
        # project.json may point this machine at its own copy of the images (a team member's).
        image_root = Path(info.get("image_root") or facts["image_root"])
        from labelaudit.core.export.runs import sweep_killed_exports

        sweep_killed_exports(folder, store)  # what a killed export left beside its DIR
        return cls(folder, store, image_root, stored_id)

    @classmethod
    def _attach(cls, folder: Path, url_text: str) -> Project:
        """A team member's local folder (thumbnails) for a project that lives in PostgreSQL.

        The folder is made (or an empty/unrelated one used) only once the database proved to
        hold a project, and never inside the image root."""
        url = normalize_url(url_text)
        store = open_store(url)
        with store.read() as conn:
            facts = dict(conn.execute(sa.select(meta.c.key, meta.c.value)).all())
        image_root = Path(facts["image_root"])
        _check_apart(folder, image_root)
        folder.mkdir(parents=True, exist_ok=True)
        if store.schema is not None:  # keep it explicit: a bare URL in project.json means public
            url = with_schema(url, store.schema)
        _write_project_file(folder, facts["project_id"], public_url(url), image_root)
        return cls(folder, store, image_root, facts["project_id"])

    def close(self) -> None:
        self.store.dispose()

    def discard_new(self) -> None:
        """Undo a ``create`` whose first import failed: no half-made project is left behind, and
        nothing that this ``create`` did not make is removed."""
        new = self._new
        if new is not None and not self.store.is_sqlite:
            # Best effort: the error that caused this is the one to report.
            with contextlib.suppress(Exception):
                self.store.write(
                    lambda conn: drop_own(
                        conn,
                        schema=self.store.schema,
                        created=new.created_schema,
                        project_id=self.project_id,
                    ),
                    budget_s=5,
                )
        self.store.dispose()
        if new is not None:
            new.claim.undo()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def thumb_dir(self) -> Path:
        return self.folder / THUMB_DIR

    # -- import --------------------------------------------------------------------------------
    def import_source(self) -> ImportSource:
        """Where the images and labels came from last time (a manifest, allowed classes)."""
        with self.store.read() as conn:
            return read_source(conn)

    def discover(
        self, *, manifest: Path | None = None, classes_allowed: set[str] | None = None
    ) -> Discovery:
        if not self.image_root.is_dir():
            raise InputError(f"the image root {self.image_root} is not there (moved or unmounted?)")
        _check_apart(self.folder, self.image_root)
        allowed = {nfc(c) for c in classes_allowed} if classes_allowed else None
        if manifest is not None:
            return read_manifest(manifest, self.image_root, allowed_labels=allowed)
        return discover_folder(self.image_root, allowed_labels=allowed)

    def import_images(
        self,
        *,
        source: ImportSource | None = None,
        manifest: Path | None = None,
        discovery: Discovery | None = None,
        rehash: bool = False,
        workers: int | None = None,
        max_pixels: int | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import from ``source`` (default: the recorded one; ``manifest`` alone names a manifest
        with any label allowed) and record it as the project's source."""
        if source is None:
            source = ImportSource(manifest) if manifest is not None else self.import_source()
        if discovery is None:
            allowed = set(source.classes) if source.classes is not None else None
            discovery = self.discover(manifest=source.manifest, classes_allowed=allowed)
        return run_import(
            self.store,
            discovery,
            image_root=self.image_root,
            source="manifest" if source.manifest else "folder",
            manifest=source.manifest,
            thumb_dir=self.thumb_dir,
            rehash=rehash,
            workers=workers,
            max_pixels=max_pixels,
            progress=progress,
            remember=source,
        )

    def repoint_image_root(self, new_root: Path, *, force: bool = False) -> CopyCheck:
        """Use the copy of the images under ``new_root`` on this machine. Refused (nothing
        changed) unless every image on disk is at its stored path under ``new_root`` and a sample
        has its stored sha256: a partial copy or an export would otherwise turn into missing
        files and given-label changes. ``force`` re-points anyway; the import then reports
        the differences as missing, moved or changed files."""
        new_root = Path(os.path.abspath(new_root))
        if not new_root.is_dir():
            raise InputError(f"image folder not found: {new_root}")
        _check_apart(self.folder, new_root)
        with self.store.read() as conn:
            check = check_copy(conn, new_root)
        if not check.same and not force:
            raise InputError(
                f"{new_root} does not hold this project's images: {check.describe()}; "
                "nothing changed (--force re-points anyway)"
            )
        info = _read_project_file(self.folder)
        _write_project_file(self.folder, self.project_id, info.get("db"), new_root)
        if self.store.is_sqlite:  # a one-machine project: keep the database in step
            self.store.write(
                lambda conn: conn.execute(
                    sa.update(meta).where(meta.c.key == "image_root").values(value=str(new_root))
                )
            )
        self.image_root = new_root
        return check

    # -- classes and settings ------------------------------------------------------------------
    def class_names(self) -> list[str]:
        """All class names in class-index order: Python ``sorted()`` of the NFC names."""
        with self.store.read() as conn:
            return sorted(conn.execute(sa.select(classes.c.name)).scalars())

    def settings(self) -> dict[str, Any]:
        with self.store.read() as conn:
            return settings_mod.read_all(conn)

    def set_setting(self, key: str, text: str, *, actor: str | None = None) -> Any:
        value = settings_mod.parse(key, text)

        def apply(conn: sa.Connection) -> None:
            settings_mod.write(conn, key, value)
            log_action(conn, "setting", actor=actor, target=key, details={"value": value})

        self.store.write(apply)
        return value


@dataclass(frozen=True)
class _NewProject:
    claim: FolderClaim
    created_schema: bool


def _init_store(
    conn: sa.Connection, store: Store, project_id: str, folder: Path, image_root: Path
) -> bool:
    """Make the tables of a new project; True when a PostgreSQL schema was created for it."""
    created = claim_schema(conn, store.schema)
    where = f"the database {public_url(store.url)}"
    if store.schema is not None:
        where = f"the schema {store.schema} of {where}"
    refuse_foreign(conn, where)
    create_schema(conn)
    conn.execute(
        sa.insert(meta),
        [
            {"key": "project_id", "value": project_id},
            {"key": "image_root", "value": str(image_root)},
            {"key": "created_at", "value": repr(time.time())},
            {"key": "created_by_version", "value": __version__},
        ],
    )
    log_action(conn, "create_project", target=str(folder))
    return created


def _check_apart(folder: Path, image_root: Path) -> None:
    """A project folder inside the image root would be imported as images (its thumbnails)."""
    if is_within(folder, image_root):
        raise ProjectError(
            f"the project folder {folder} is inside the image root {image_root}; "
            "put it elsewhere so that it is never imported as images"
        )
    if is_within(image_root, folder):
        raise ProjectError(f"the image root {image_root} is inside the project folder {folder}")


def _read_project_file(folder: Path) -> dict[str, Any]:
    info_file = folder / PROJECT_FILE
    try:
        info = json.loads(info_file.read_text(encoding="utf-8"))
        str(info["project_id"])
    except (OSError, ValueError, KeyError, TypeError):
        raise ProjectError(f"{info_file} is damaged or not a labelaudit project file") from None
    return dict(info)


def _write_project_file(folder: Path, project_id: str, db: str | None, image_root: Path) -> None:
    data = {
        "labelaudit_project": 1,
        "project_id": project_id,
        "db": db,
        "image_root": str(image_root),
    }
    tmp = folder / (PROJECT_FILE + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / PROJECT_FILE)

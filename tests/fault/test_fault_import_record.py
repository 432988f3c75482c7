"""Found by the fault-injection campaign: an import killed between the transaction that
publishes its images and the one that records it finished was shown by ``info`` as INTERRUPTED
("its files are not in the project") although its files were in the project. The images and
the import's finish record must become visible together, in one transaction."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from fault_setup import make_images
from labelaudit.core.dataset import importer
from labelaudit.core.project import Project
from labelaudit.core.store.schema import images


def _count_seen_by_another_connection(project: Project) -> int:
    """Images committed, as a separate connection (another process) sees them."""
    if project.store.is_sqlite:
        conn = sqlite3.connect(project.folder / "labelaudit.db", timeout=10)
        try:
            return int(conn.execute("SELECT count(*) FROM images").fetchone()[0])
        finally:
            conn.close()
    engine = sa.create_engine(project.store.engine.url)
    try:
        with engine.connect() as conn:
            schema = project.store.schema
            return int(conn.exec_driver_sql(f'SELECT count(*) FROM "{schema}".images').scalar())
    finally:
        engine.dispose()


def test_an_imports_images_and_its_finish_record_are_committed_together(
    tmp_path: Path, backend: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "images"
    make_images(root, {"a": 3})
    with Project.create(tmp_path / "proj", root, db_url=backend) as project:
        project.import_images(workers=1)
        make_images(root, {"b": 4}, seed=1)
        seen: list[int] = []
        real = importer._finish_import

        def finishing(conn: sa.Connection, *args: object, **kwargs: object) -> None:
            seen.append(_count_seen_by_another_connection(project))  # a kill -9 here
            real(conn, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(importer, "_finish_import", finishing)
        assert project.import_images(workers=1).new == 4
        # Killed while recording the finish, the import must not have published anything yet.
        assert seen == [3]
        with project.store.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(images)).scalar() == 7

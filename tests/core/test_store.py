"""The project store on both backends: schema, transactions, arrays, retries, audit log."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from labelaudit.core.errors import ProjectError, StoreError, StoreLockedError
from labelaudit.core.project import Project
from labelaudit.core.store import arrays as arrays_mod
from labelaudit.core.store.arrays import array_names, delete_arrays, get_array, put_array
from labelaudit.core.store.auditlog import log_action, recent_actions
from labelaudit.core.store.engine import normalize_url, public_url
from labelaudit.core.store.migrations import MIGRATIONS, ensure_current
from labelaudit.core.store.schema import SCHEMA_VERSION, classes, images, meta


@pytest.fixture
def project(tmp_path: Path, tiny_tree: Path, backend: str | None) -> Project:
    proj = Project.create(tmp_path / "proj", tiny_tree, db_url=backend)
    yield proj
    proj.close()


def test_create_and_reopen(project: Project, backend: str | None) -> None:
    project.import_images()
    assert project.class_names() == ["cat", "dog", "owl"]
    folder = project.folder
    project.close()
    again = Project.open(folder)
    try:
        assert again.project_id == project.project_id
        assert again.image_root == project.image_root
        assert again.class_names() == ["cat", "dog", "owl"]
        info = json.loads((folder / "project.json").read_text())
        if backend:
            assert info["db"].startswith("postgresql+psycopg://")
            assert "password" not in info["db"].lower()
    finally:
        again.close()


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path, tiny_tree: Path) -> None:
    with Project.create(tmp_path / "p", tiny_tree) as proj, proj.store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_write_is_all_or_nothing(project: Project) -> None:
    def half(conn: sa.Connection) -> None:
        conn.execute(sa.insert(classes).values(name="half", created_at=0.0))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        project.store.write(half)
    assert "half" not in project.class_names()


def test_foreign_keys_enforced(project: Project) -> None:
    def bad(conn: sa.Connection) -> None:
        conn.execute(
            sa.insert(images).values(
                path="x.png",
                class_id=9999,
                size=1,
                mtime_ns=0,
                status="ok",
                created_at=0,
                updated_at=0,
            )
        )

    with pytest.raises(StoreError):
        project.store.write(bad)


@pytest.mark.parametrize("shape", [(0, 3), (7,), (1000, 13), (5, 4, 3)])
def test_arrays_roundtrip_in_chunks(
    project: Project, monkeypatch: pytest.MonkeyPatch, shape: tuple[int, ...]
) -> None:
    monkeypatch.setattr(arrays_mod, "CHUNK_BYTES", 256)  # force many chunks
    rng = np.random.default_rng(0)
    data = rng.random(shape).astype(np.float32)
    ids = np.arange(shape[0], dtype=np.int64)
    project.store.write(
        lambda c: (
            put_array(c, "scan:1", "pred_probs", data),
            put_array(c, "scan:1", "image_ids", ids),
        )
    )
    with project.store.read() as conn:
        back = get_array(conn, "scan:1", "pred_probs")
        assert back is not None and back.shape == data.shape and back.dtype == np.float32
        np.testing.assert_array_equal(back, data)
        assert array_names(conn, "scan:1") == ["image_ids", "pred_probs"]
        assert get_array(conn, "scan:2", "pred_probs") is None
    project.store.write(lambda c: delete_arrays(c, "scan:1"))
    with project.store.read() as conn:
        assert array_names(conn, "scan:1") == []


def test_write_retries_injected_lock_errors(project: Project) -> None:
    attempts: list[int] = []

    def flaky(attempt: int) -> None:
        attempts.append(attempt)
        if attempt < 4:
            raise sa.exc.OperationalError("BEGIN", {}, Exception("database is locked"))

    project.store.fault_injector = flaky
    project.store.write(lambda c: log_action(c, "test", target="retry"))
    project.store.fault_injector = None
    assert attempts == [1, 2, 3, 4]
    with project.store.read() as conn:
        assert [a["action"] for a in recent_actions(conn, limit=1)] == ["test"]


def test_write_gives_up_with_one_clear_error(project: Project) -> None:
    def always(attempt: int) -> None:
        raise sa.exc.OperationalError("BEGIN", {}, Exception("database is locked"))

    project.store.fault_injector = always
    with pytest.raises(StoreLockedError, match="locked"):
        project.store.write(lambda c: None, budget_s=0.2)


def test_audit_log_and_change_counter(project: Project) -> None:
    before = project.store.change_counter()
    project.set_setting("votes_required", "2", actor="ann")
    assert project.store.change_counter() > before
    with project.store.read() as conn:
        entry = recent_actions(conn, limit=1)[0]
    assert entry["action"] == "setting" and entry["actor"] == "ann"
    assert entry["os_user"] is not None and entry["host"] is not None
    assert project.settings()["votes_required"] == 2


def test_newer_schema_is_refused(project: Project) -> None:
    project.store.write(
        lambda c: c.execute(
            sa.update(meta)
            .where(meta.c.key == "schema_version")
            .values(value=str(SCHEMA_VERSION + 1))
        )
    )
    with pytest.raises(ProjectError, match="newer labelaudit"):
        ensure_current(project.store)


def test_migration_path_runs_registered_steps(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[int] = []
    monkeypatch.setattr("labelaudit.core.store.migrations.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(MIGRATIONS, SCHEMA_VERSION, lambda conn: ran.append(SCHEMA_VERSION))
    ensure_current(project.store)
    assert ran == [SCHEMA_VERSION]
    with project.store.read() as conn:
        value = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    assert int(value) == SCHEMA_VERSION + 1


def test_init_refuses_a_database_with_a_project(
    tmp_path: Path, tiny_tree: Path, backend: str | None
) -> None:
    if backend is None:
        pytest.skip("each SQLite project has its own database file")
    Project.create(tmp_path / "a", tiny_tree, db_url=backend).close()
    with pytest.raises(ProjectError, match="already holds"):
        Project.create(tmp_path / "b", tiny_tree, db_url=backend)
    assert not (tmp_path / "b").exists()


def test_team_member_attaches_a_local_folder(tmp_path: Path, tiny_tree: Path, pg_url: str) -> None:
    with Project.create(tmp_path / "a", tiny_tree, db_url=pg_url) as first:
        first.import_images()
    (tmp_path / "b").mkdir()
    with Project.open(tmp_path / "b", db_url=pg_url) as second:
        assert second.class_names() == ["cat", "dog", "owl"]
    assert (tmp_path / "b" / "project.json").exists()


def test_postgres_url_uses_psycopg_and_hides_password() -> None:
    url = normalize_url("postgresql://ann:secret@db.example/la")
    assert url.drivername == "postgresql+psycopg"
    assert "secret" not in public_url(url)


def test_bad_url_is_one_error() -> None:
    with pytest.raises(StoreError):
        normalize_url("mysql://x@y/z")
    with pytest.raises(StoreError):
        normalize_url("::not a url::")

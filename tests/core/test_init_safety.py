"""``init`` never destroys what labelaudit did not create (issue 10, items 1, 4 and 9).

Real PostgreSQL, real SQLite files and real ``labelaudit`` processes racing each other.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpers import assert_one_error_line, make_tree, run_cli
from labelaudit.core.errors import ProjectError, StoreError
from labelaudit.core.project import Project
from labelaudit.core.store.engine import normalize_url


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(normalize_url(url).difference_update_query(["schema"]))


def _add_foreign_tables(url: str, schema: str = "public") -> None:
    """Another application's ``images`` and ``settings`` tables, with rows."""
    engine = _engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.exec_driver_sql(f'CREATE TABLE "{schema}".images (id int PRIMARY KEY, title text)')
        conn.exec_driver_sql(f"INSERT INTO \"{schema}\".images VALUES (1, 'holiday'), (2, 'cat')")
        conn.exec_driver_sql(f'CREATE TABLE "{schema}".settings (k text PRIMARY KEY, v text)')
        conn.exec_driver_sql(f"INSERT INTO \"{schema}\".settings VALUES ('theme', 'dark')")
    engine.dispose()


def _foreign_rows(url: str, schema: str = "public") -> tuple[list[tuple[object, ...]], ...]:
    engine = _engine(url)
    with engine.connect() as conn:
        imgs = conn.exec_driver_sql(f'SELECT * FROM "{schema}".images ORDER BY id').all()
        sets = conn.exec_driver_sql(f'SELECT * FROM "{schema}".settings').all()
    engine.dispose()
    return [tuple(r) for r in imgs], [tuple(r) for r in sets]


def _schemas(url: str) -> set[str]:
    engine = _engine(url)
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_schema_names())
    engine.dispose()
    return names


FOREIGN = ([(1, "holiday"), (2, "cat")], [("theme", "dark")])


@pytest.mark.postgres
def test_pg_init_beside_foreign_tables_keeps_them(
    tmp_path: Path, tiny_tree: Path, pg_url: str
) -> None:
    _add_foreign_tables(pg_url)
    proc = run_cli("init", tmp_path / "p", "--images", tiny_tree, "--db", pg_url)
    assert proc.returncode == 0, proc.stderr
    assert _foreign_rows(pg_url) == FOREIGN
    assert "labelaudit" in _schemas(pg_url)
    with Project.open(tmp_path / "p") as project:
        assert project.class_names() == ["cat", "dog", "owl"]
    assert "schema=labelaudit" in json.loads((tmp_path / "p" / "project.json").read_text())["db"]


@pytest.mark.postgres
def test_pg_init_refuses_a_schema_with_foreign_tables(
    tmp_path: Path, tiny_tree: Path, pg_url: str
) -> None:
    _add_foreign_tables(pg_url, "shared")
    url = f"{pg_url}?schema=shared"
    proc = run_cli("init", tmp_path / "p", "--images", tiny_tree, "--db", url)
    assert_one_error_line(proc, contains="did not create")
    assert proc.returncode == 2
    assert _foreign_rows(pg_url, "shared") == FOREIGN
    assert not (tmp_path / "p").exists()
    bad_name = url.replace("shared", "Bad-Name")
    proc = run_cli("init", tmp_path / "p", "--images", tiny_tree, "--db", bad_name)
    assert_one_error_line(proc, contains="schema")


@pytest.mark.postgres
def test_pg_failed_first_import_drops_only_its_own_schema(tmp_path: Path, pg_url: str) -> None:
    _add_foreign_tables(pg_url)
    root = make_tree(tmp_path / "images", {"cat": 2})
    bad = tmp_path / "bad.csv"
    bad.write_text("no,such,columns\n1,2,3\n")  # refused by the first import
    proc = run_cli("init", tmp_path / "p", "--images", root, "--db", pg_url, "--manifest", bad)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert _foreign_rows(pg_url) == FOREIGN
    assert "labelaudit" not in _schemas(pg_url)
    assert not (tmp_path / "p").exists()


@pytest.mark.postgres
def test_pg_failed_first_import_keeps_a_schema_it_did_not_create(
    tmp_path: Path, pg_url: str
) -> None:
    engine = _engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA mine")
    engine.dispose()
    root = make_tree(tmp_path / "images", {"cat": 2})
    bad = tmp_path / "bad.csv"
    bad.write_text("no,such,columns\n1,2,3\n")
    url = f"{pg_url}?schema=mine"
    proc = run_cli("init", tmp_path / "p", "--images", root, "--db", url, "--manifest", bad)
    assert proc.returncode != 0
    engine = _engine(pg_url)
    with engine.connect() as conn:
        assert "mine" in sa.inspect(conn).get_schema_names()
        assert sa.inspect(conn).get_table_names(schema="mine") == []
    engine.dispose()


@pytest.mark.postgres
def test_pg_project_of_an_older_labelaudit_in_public_still_opens(
    tmp_path: Path, tiny_tree: Path, pg_url: str
) -> None:
    with Project.create(tmp_path / "p", tiny_tree, db_url=f"{pg_url}?schema=public") as proj:
        proj.import_images()
    # An older labelaudit wrote the URL without a schema: its tables are in public.
    info_file = tmp_path / "p" / "project.json"
    info = json.loads(info_file.read_text())
    info["db"] = info["db"].split("?")[0]
    info_file.write_text(json.dumps(info))
    with Project.open(tmp_path / "p") as again:
        assert again.class_names() == ["cat", "dog", "owl"]
    # Attaching with the bare URL names the way to the old project in one line.
    proc = run_cli("info", tmp_path / "q", "--db", pg_url)
    assert_one_error_line(proc, contains="schema=public")


@pytest.mark.postgres
def test_pg_attached_folder_remembers_the_schema(
    tmp_path: Path, tiny_tree: Path, pg_url: str
) -> None:
    url = f"{pg_url}?schema=team_a"
    Project.create(tmp_path / "a", tiny_tree, db_url=url).close()
    with Project.open(tmp_path / "b", db_url=url) as member:
        project_id = member.project_id
    assert "schema=team_a" in json.loads((tmp_path / "b" / "project.json").read_text())["db"]
    with Project.open(tmp_path / "b") as again:
        assert again.project_id == project_id


def test_sqlite_file_with_foreign_tables_is_refused(tmp_path: Path, tiny_tree: Path) -> None:
    db = tmp_path / "app.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE images (id int PRIMARY KEY, title text)")
        conn.exec_driver_sql("INSERT INTO images VALUES (1, 'holiday')")
    engine.dispose()
    before = db.read_bytes()
    proc = run_cli("init", tmp_path / "p", "--images", tiny_tree, "--db", f"sqlite:///{db}")
    assert_one_error_line(proc, contains="did not create")
    assert db.read_bytes() == before
    assert not (tmp_path / "p").exists()


def test_in_memory_sqlite_is_refused(tmp_path: Path, tiny_tree: Path) -> None:
    proc = run_cli("init", tmp_path / "p", "--images", tiny_tree, "--db", "sqlite://")
    assert_one_error_line(proc, contains="memory")
    assert proc.returncode == 2
    for url in ("sqlite:///:memory:", "sqlite+pysqlite://", "sqlite:///file:x?mode=memory"):
        with pytest.raises(StoreError, match="memory"):
            Project.create(tmp_path / "p", tiny_tree, db_url=url)
    assert not (tmp_path / "p").exists()


def test_failed_init_in_an_existing_folder_removes_only_its_own_files(
    tmp_path: Path, tiny_tree: Path
) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    bad = tmp_path / "bad.csv"
    bad.write_text("no,such,columns\n1,2,3\n")
    proc = run_cli("init", folder, "--images", tiny_tree, "--manifest", bad)
    assert proc.returncode != 0
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_init_refuses_a_folder_being_created(tmp_path: Path, tiny_tree: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    lock = folder / ".labelaudit-init.lock"
    with lock.open("w") as held:  # a live init holds its lock file
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(ProjectError, match="another 'labelaudit init' is creating"):
            Project.create(folder, tiny_tree)
    # the lock of a killed init: the same refusal, worded for it
    with pytest.raises(ProjectError, match="did not finish"):
        Project.create(folder, tiny_tree)
    assert [p.name for p in folder.iterdir()] == [lock.name]


# Each racer imports everything first, says so, then waits for the same go file: both then reach
# Project.create within a millisecond or so, which a bare double start rarely does on a loaded box.
RACER = """
import os, sys, time
import labelaudit.cli.main, labelaudit.core.project, labelaudit.cli.cmd_init
from labelaudit.entry import main
ready, go = sys.argv[1:3]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.0005)
sys.exit(main(sys.argv[3:]))
"""


def _race_inits(tmp_path: Path, folder: Path, root: Path) -> list[tuple[int, str, str]]:
    go = tmp_path / f"{folder.name}.go"
    procs, readies = [], []
    for k in range(2):
        readies.append(tmp_path / f"{folder.name}.ready{k}")
        args = ["init", str(folder), "--images", str(root), "--workers", "1"]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", RACER, str(readies[-1]), str(go), *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in readies) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    return [(p.wait(timeout=120), *p.communicate()) for p in procs]


def test_two_concurrent_inits_never_remove_the_winner(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"cat": 2, "dog": 2})
    for attempt in range(3):
        folder = tmp_path / f"p{attempt}"
        results = _race_inits(tmp_path, folder, root)
        winners = [r for r in results if r[0] == 0 and "created project" in r[1]]
        assert len(winners) == 1, results
        for code, _out, err in results:
            if code != 0:
                assert code == 2 and len(err.strip().splitlines()) == 1, err
        with Project.open(folder) as project:
            assert project.class_names() == ["cat", "dog"]
        assert not (folder / ".labelaudit-init.lock").exists()

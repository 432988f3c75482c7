"""Where a new project's tables go, and how a failed ``init`` removes them again.

A new project is made only in a database (SQLite) or PostgreSQL schema that holds no table at
all, or in a PostgreSQL schema created for it; anything else is refused, never written. Undoing
a failed ``init`` drops only what that run made: its schema if it created one, else its own
tables, and only while they still hold its project id.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection

from labelaudit.core.errors import ProjectError
from labelaudit.core.store.engine import (
    DEFAULT_PG_SCHEMA,
    LEGACY_PG_SCHEMA,
    Store,
    names_schema,
    public_url,
    with_schema,
)
from labelaudit.core.store.migrations import ensure_current, schema_version
from labelaudit.core.store.schema import meta, metadata


def claim_schema(conn: Connection, schema: str | None) -> bool:
    """Create the PostgreSQL ``schema`` if missing; True when this call created it."""
    if schema is None:
        return False
    found = conn.execute(
        sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :name"), {"name": schema}
    ).scalar()
    if found:
        return False
    conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')  # a name checked by engine._check_url
    return True


def refuse_foreign(conn: Connection, where: str) -> None:
    """A project goes only where no table exists: a labelaudit project or any other one."""
    inspector = sa.inspect(conn)
    tables = sorted(inspector.get_table_names() + inspector.get_view_names())
    if not tables:
        return
    if _is_labelaudit(conn, tables):
        raise ProjectError(f"{where} already holds a labelaudit project")
    listed = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
    raise ProjectError(
        f"{where} holds tables that labelaudit did not create ({listed}); "
        "nothing changed: name an empty or new schema, e.g. ?schema=labelaudit2"
    )


def refuse_foreign_sqlite(path: Path) -> None:
    """Look into an existing SQLite file read-only, before a writable open (which would turn on
    WAL) changes a byte of a file that may be another application's."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as db:
            tables = [
                r[0]
                for r in db.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                )
            ]
            labelaudit = "meta" in tables and bool(
                db.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone()
            )
    except sqlite3.Error as exc:
        raise ProjectError(
            f"{path} is not an empty SQLite database ({exc}); nothing changed"
        ) from None
    if labelaudit:
        raise ProjectError(f"the database {path} already holds a labelaudit project")
    if tables:
        listed = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise ProjectError(
            f"the database {path} holds tables that labelaudit did not create ({listed}); "
            "nothing changed: name a new database file"
        )


def _is_labelaudit(conn: Connection, tables: list[str]) -> bool:
    if "meta" not in tables:
        return False
    columns = {c["name"] for c in sa.inspect(conn).get_columns("meta")}
    if not {"key", "value"} <= columns:
        return False
    version = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return version is not None


def drop_own(conn: Connection, *, schema: str | None, created: bool, project_id: str) -> None:
    """Undo a new project: only while its tables still hold ``project_id`` (never by name)."""
    tables = set(sa.inspect(conn).get_table_names())
    if "meta" not in tables:
        return
    owner = conn.execute(sa.select(meta.c.value).where(meta.c.key == "project_id")).scalar()
    if owner != project_id:
        return
    ours = {t.name for t in metadata.sorted_tables}
    if created and schema is not None and tables <= ours:
        # The schema is this run's and holds nothing else: its sequences and indexes go with it.
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        return
    # The schema was there (empty, as refuse_foreign checked) or gained a stranger's table:
    # drop this project's tables alone.
    metadata.drop_all(conn, tables=[t for t in metadata.sorted_tables if t.name in tables])


def open_store(url: URL) -> Store:
    """The store at ``url``, upgraded to the current schema; a one-line hint where a bare URL
    misses a project of labelaudit 0.1.0 in schema public."""
    store = Store(url)
    store.ping()
    try:
        ensure_current(store)
    except ProjectError:
        store.dispose()
        if store.schema is not None and not names_schema(url):
            _hint_legacy(url)
        raise
    return store


def _hint_legacy(url: URL) -> None:
    """A URL without ?schema= that reaches a project of labelaudit 0.1.0 (in schema public)."""
    legacy = Store(with_schema(url, LEGACY_PG_SCHEMA))
    try:
        with legacy.read() as conn:
            found = schema_version(conn) is not None
    except Exception:  # a foreign or unreadable public schema: no hint to give
        found = False
    finally:
        legacy.dispose()
    if found:
        raise ProjectError(
            f"no labelaudit project in schema {DEFAULT_PG_SCHEMA} of {public_url(url)}, but one "
            f"made by labelaudit 0.1.0 in schema public: add ?schema=public to the URL"
        )

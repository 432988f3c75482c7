"""Connections, transactions and retries for SQLite (default) and PostgreSQL (team store).

SQLite writers start with ``BEGIN IMMEDIATE``: a deferred transaction that upgrades to a write in
WAL mode fails at once with SQLITE_BUSY, ignoring the busy timeout. Writes retry within a bounded
time, then fail with one clear line. PostgreSQL URLs are pinned to the psycopg 3 driver, and
passwords never reach a project file (psycopg reads ``PGPASSWORD`` and ``.pgpass``).

On PostgreSQL the tables live in their own schema (``?schema=NAME`` in the URL, default
``labelaudit``), set as each connection's ``search_path`` so that every statement, raw SQL
included, sees only labelaudit's tables and never another application's ``images``.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from labelaudit.core.errors import DiskFullError, StoreError, StoreLockedError

T = TypeVar("T")

LOCK_TIMEOUT_ENV = "LABELAUDIT_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT_S = 30.0
BUSY_WAIT_S = 2.0  # SQLite's busy handler per statement; Store.write retries beyond it
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb", "smb2", "smbfs", "afs", "fuse.sshfs", "9p", "davfs", "ncpfs"}
)


SCHEMA_PARAM = "schema"
DEFAULT_PG_SCHEMA = "labelaudit"
LEGACY_PG_SCHEMA = "public"  # where labelaudit 0.1.0 put its tables
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def normalize_url(url: str) -> URL:
    """Parse a database URL; a bare ``postgresql://`` means psycopg 3 on every SQLAlchemy 2.x."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r} ({exc})") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith(("sqlite", "postgresql")):
        raise StoreError(f"unsupported database {parsed.drivername!r}: use sqlite or postgresql")
    _check_url(parsed)
    return parsed


def _check_url(url: URL) -> None:
    """Refuse an in-memory SQLite database (it saves nothing) and a bad schema name."""
    schema = url.query.get(SCHEMA_PARAM)
    if url.get_backend_name() == "sqlite":
        memory = url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
        if memory:
            raise StoreError(
                f"{url.render_as_string()!r} is an in-memory database that would save nothing; "
                "give a file, e.g. sqlite:////path/to/labelaudit.db"
            )
        if schema is not None:
            raise StoreError("?schema= applies to PostgreSQL only")
        return
    if schema is None:
        return
    if (
        not isinstance(schema, str)
        or not _SCHEMA_NAME.fullmatch(schema)
        or schema.startswith("pg_")
        or schema == "information_schema"
    ):
        raise StoreError(
            f"bad PostgreSQL schema name {schema!r} in the URL: use lower-case letters, digits "
            "and _ (not pg_*), e.g. ?schema=labelaudit"
        )


def pg_schema(url: URL) -> str | None:
    """The PostgreSQL schema that holds the project's tables (None on SQLite)."""
    if url.get_backend_name() == "sqlite":
        return None
    schema = url.query.get(SCHEMA_PARAM)
    return str(schema) if schema else DEFAULT_PG_SCHEMA


def with_schema(url: URL, schema: str) -> URL:
    """``url`` naming ``schema`` explicitly (so that project files keep saying where it is)."""
    return url.update_query_dict({SCHEMA_PARAM: schema})


def names_schema(url: URL) -> bool:
    return SCHEMA_PARAM in url.query


def public_url(url: URL) -> str:
    """The URL without its password: safe for project files and logs."""
    bare = URL.create(
        url.drivername,
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return bare.render_as_string(hide_password=False)


def filesystem_type(path: Path) -> str | None:
    """The mount type holding ``path`` (Linux /proc/mounts), or None where unknown."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    target = str(path.resolve())
    best, best_type = "", None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace("\\040", " ")
        if (target == mount_point or target.startswith(mount_point.rstrip("/") + "/")) and len(
            mount_point
        ) >= len(best):
            best, best_type = mount_point, fields[2]
    return best_type


def sqlite_url(db_path: Path) -> URL:
    fs = filesystem_type(db_path.parent)
    if fs in NETWORK_FILESYSTEMS:
        raise StoreError(
            f"{db_path.parent} is on a network file system ({fs}), where SQLite's WAL is unsafe; "
            "keep the project on a local disk or share a PostgreSQL store with --db URL"
        )
    return URL.create("sqlite+pysqlite", database=str(db_path))


def _is_locked(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return any(
        s in text
        for s in (
            "database is locked",
            "database table is locked",
            "could not serialize",
            "deadlock detected",
            "lock timeout",
        )
    )


def _is_disk_full(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "database or disk is full" in text or "no space left" in text


class Store:
    """One database: engine, transactions, bounded write retries."""

    def __init__(
        self, url: URL, *, echo: bool = False, lock_timeout_s: float | None = None
    ) -> None:
        self.url = url
        self.is_sqlite = url.get_backend_name() == "sqlite"
        #: How long a writer keeps retrying a locked database before one clear error line.
        #: The app lowers it so that a locked database never freezes the window for long.
        self.lock_timeout_s = (
            lock_timeout_s
            if lock_timeout_s is not None
            else float(os.environ.get(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT_S))
        )
        if self.is_sqlite:
            engine = sa.create_engine(
                url, echo=echo, connect_args={"timeout": 0.0, "check_same_thread": False}
            )
            _install_sqlite_hooks(engine, self)
            self.schema: str | None = None
        else:
            self.schema = pg_schema(url)
            # psycopg would take ?schema= for a connection option: it is ours alone.
            bare = url.difference_update_query([SCHEMA_PARAM])
            engine = sa.create_engine(bare, echo=echo, pool_pre_ping=True)
            _install_pg_hooks(engine, str(self.schema))
        self.engine: Engine = engine
        # Test hook: a callable raising a lock error on chosen attempts (contention injection).
        self.fault_injector: Callable[[int], None] | None = None

    def dispose(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except DBAPIError as exc:
            raise StoreError(
                f"cannot reach the database {public_url(self.url)}: {_first_line(exc)}"
            ) from None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: a consistent snapshot, never half a write."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            raise _translate(exc) from None

    def write(self, fn: Callable[[Connection], T], *, budget_s: float | None = None) -> T:
        """Run ``fn(conn)`` in one write transaction, retrying on lock contention.

        ``fn`` must be safe to re-run: all of its effects are rolled back when an attempt fails.
        """
        deadline = time.monotonic() + (self.lock_timeout_s if budget_s is None else budget_s)
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.engine.connect() as conn:
                    conn = conn.execution_options(labelaudit_write=True)
                    with conn.begin():
                        if self.fault_injector is not None:
                            self.fault_injector(attempt)
                        return fn(conn)
            except (OperationalError, DBAPIError) as exc:
                if _is_locked(exc) and time.monotonic() < deadline:
                    time.sleep(min(0.5, 0.005 * 2 ** min(attempt, 7)) * (0.5 + random.random()))
                    continue
                raise _translate(exc) from None

    def change_counter(self) -> int:
        """Increases with every committed change (the audit log's last id): the app polls it."""
        from labelaudit.core.store.schema import audit_log

        with self.read() as conn:
            return int(conn.execute(sa.select(sa.func.max(audit_log.c.id))).scalar() or 0)


def _install_sqlite_hooks(engine: Engine, store: Store) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (pysqlite's is deferred)
        cur = dbapi_conn.cursor()
        # SQLite's own busy wait covers short waits (readers, checkpoints); longer contention is
        # retried by Store.write within the store's lock timeout.
        busy_ms = int(min(BUSY_WAIT_S, store.lock_timeout_s) * 1000)
        cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("labelaudit_write", False)
        if immediate:  # the store's lock timeout may have changed since this connection opened
            busy_ms = int(min(BUSY_WAIT_S, store.lock_timeout_s) * 1000)
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {busy_ms}")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _install_pg_hooks(engine: Engine, schema: str) -> None:
    @event.listens_for(engine, "connect", insert=True)
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Only labelaudit's schema (pg_catalog is always searched): a table of another
        # application is never seen, written or dropped. The name was checked by _check_url.
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        cur = dbapi_conn.cursor()
        cur.execute(f'SET SESSION search_path TO "{schema}"')
        cur.close()
        dbapi_conn.autocommit = autocommit


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _translate(exc: DBAPIError) -> Exception:
    if _is_locked(exc):
        return StoreLockedError(
            "the database stayed locked by another writer; try again in a moment "
            f"({_first_line(exc)})"
        )
    if _is_disk_full(exc):
        return DiskFullError(f"the disk holding the database is full ({_first_line(exc)})")
    return StoreError(f"database error: {_first_line(exc)}")

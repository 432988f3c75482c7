"""Schema creation, version check and the migration path.

Each migration takes a database from version ``v`` to ``v + 1`` inside one write transaction;
opening a project runs the ones it needs. A database newer than this labelaudit is refused,
never touched.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.errors import ProjectError
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import (
    SCHEMA_VERSION,
    images,
    import_staging,
    meta,
    metadata,
)


def _add_columns(conn: Connection, table: sa.Table, names: tuple[str, ...]) -> None:
    """ALTER TABLE ... ADD COLUMN for columns of ``table`` (nullable, so old rows read NULL)."""
    present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    for name in names:
        if name in present:
            continue
        column = table.c[name]
        sql_type = column.type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {name} {sql_type}")


def _v1_image_properties(conn: Connection) -> None:
    # Old images keep NULL (unknown) until an 'import --rehash' measures them.
    for table in (images, import_staging):
        _add_columns(conn, table, ("brightness", "sharpness"))


# MIGRATIONS[v] upgrades a database at version v to v + 1.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1_image_properties}


def create_schema(conn: Connection) -> None:
    metadata.create_all(conn)
    conn.execute(sa.insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))


def schema_version(conn: Connection) -> int | None:
    if not sa.inspect(conn).has_table("meta"):
        return None
    value = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return int(value) if value is not None else None


def ensure_current(store: Store) -> None:
    """Upgrade an older schema in place; refuse a newer or foreign one."""
    with store.read() as conn:
        version = schema_version(conn)
    if version is None:
        raise ProjectError("the database holds no labelaudit project (no schema version)")
    if version > SCHEMA_VERSION:
        raise ProjectError(
            f"this project was written by a newer labelaudit (schema {version}, this one reads "
            f"up to {SCHEMA_VERSION}); upgrade labelaudit"
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS[version]
        target = version + 1

        def apply(
            conn: Connection, step: Callable[[Connection], None] = step, v: int = target
        ) -> None:
            step(conn)
            conn.execute(sa.update(meta).where(meta.c.key == "schema_version").values(value=str(v)))

        store.write(apply)
        version = target

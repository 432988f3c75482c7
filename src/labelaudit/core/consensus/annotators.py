"""The annotator registry: names and roles (annotator | lead).

Roles are a workflow guard, not security: the tool has no login, anyone who can open the project
can act under any name. The audit log records the OS user and host with every action.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from labelaudit.core.errors import InputError
from labelaudit.core.paths import nfc
from labelaudit.core.store.auditlog import log_action
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import annotators

ANNOTATOR = "annotator"
LEAD = "lead"
ROLES = (ANNOTATOR, LEAD)
MAX_NAME = 100


@dataclass(frozen=True)
class Annotator:
    id: int
    name: str
    role: str

    @property
    def is_lead(self) -> bool:
        return self.role == LEAD


def clean_name(name: str) -> str:
    """The stored form of an annotator name (NFC, trimmed); InputError if unusable."""
    text = nfc(name.strip())
    if not text:
        raise InputError("an annotator name cannot be empty")
    if len(text) > MAX_NAME or any(ord(ch) < 32 for ch in text):
        raise InputError(f"not a usable annotator name: {name!r}")
    return text


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}: use {' or '.join(ROLES)}")
    return role


def find(conn: Connection, name: str) -> Annotator | None:
    row = conn.execute(
        sa.select(annotators.c.id, annotators.c.name, annotators.c.role).where(
            annotators.c.name == clean_name(name)
        )
    ).first()
    return Annotator(int(row.id), row.name, row.role) if row is not None else None


def lookup(conn: Connection, name: str) -> Annotator:
    """The registered annotator called ``name``; InputError if there is none."""
    found = find(conn, name)
    if found is None:
        raise InputError(
            f"unknown annotator {name.strip()!r}; register them with "
            "'labelaudit annotators add PROJECT NAME'"
        )
    return found


def require_lead(conn: Connection, name: str) -> Annotator:
    """The registered lead called ``name``; InputError for an unknown name or another role."""
    who = lookup(conn, name)
    if not who.is_lead:
        raise InputError(
            f"{who.name} is not a lead (role: {who.role}); only leads can do this "
            "('labelaudit annotators add PROJECT NAME --role lead')"
        )
    return who


def ensure(
    conn: Connection,
    name: str,
    *,
    role: str = ANNOTATOR,
    actor: str | None = None,
    change_role: bool = True,
) -> Annotator:
    """Register ``name`` with ``role`` inside the caller's transaction (idempotent).

    An existing annotator given another role changes role (unless ``change_role`` is False);
    both are logged.
    """
    check_role(role)
    existing = find(conn, name)
    if existing is not None:
        if existing.role == role or not change_role:
            return existing
        conn.execute(sa.update(annotators).where(annotators.c.id == existing.id).values(role=role))
        log_action(
            conn, "annotator_role", actor=actor, target=existing.name, details={"role": role}
        )
        return Annotator(existing.id, existing.name, role)
    clean = clean_name(name)
    try:
        with conn.begin_nested():  # another process may register the same name right now
            new_id = conn.execute(
                sa.insert(annotators).values(name=clean, role=role, created_at=time.time())
            ).inserted_primary_key[0]  # type: ignore[index]
    except IntegrityError:
        return ensure(conn, name, role=role, actor=actor, change_role=change_role)
    log_action(conn, "annotator_add", actor=actor, target=clean, details={"role": role})
    return Annotator(int(new_id), clean, role)


def add_annotator(
    store: Store, name: str, *, role: str = ANNOTATOR, actor: str | None = None
) -> Annotator:
    """Register an annotator (or change an existing one's role) in one transaction."""
    check_role(role)
    clean_name(name)
    return store.write(lambda conn: ensure(conn, name, role=role, actor=actor))


def get_or_register(store: Store, name: str) -> tuple[Annotator, bool]:
    """The annotator called ``name``, registering a new name as an annotator (never a lead):
    (annotator, whether it was new). For a person naming themselves, as the app's --annotator."""
    with store.read() as conn:
        found = find(conn, name)
    if found is not None:
        return found, False
    # change_role=False: a name someone registers meanwhile (as a lead, say) keeps its role.
    who = store.write(lambda conn: ensure(conn, name, actor=clean_name(name), change_role=False))
    return who, who.role == ANNOTATOR


def list_annotators(store: Store) -> list[Annotator]:
    with store.read() as conn:
        rows = conn.execute(
            sa.select(annotators.c.id, annotators.c.name, annotators.c.role).order_by(
                annotators.c.name
            )
        )
        return [Annotator(int(r.id), r.name, r.role) for r in rows]


def get_annotator(store: Store, name: str) -> Annotator:
    with store.read() as conn:
        return lookup(conn, name)

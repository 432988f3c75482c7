"""A lead's final decision on an image (keep | a class | drop), stored with a note.

Only registered leads resolve; anyone else gets an InputError and nothing is written. The lead's
decision is final against annotators' votes. A lead may supersede a decision (their own or another
lead's: a team whose lead left must not be stuck); every decision records the one it supersedes,
and undo appends a withdrawal, so the history is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.consensus import annotators as reg
from labelaudit.core.consensus.decisions import (
    DROP,
    KEEP,
    LABEL,
    UNSURE,
    Decision,
    format_class,
    parse_decision,
)
from labelaudit.core.consensus.image_refs import ImageRef, load_images
from labelaudit.core.consensus.tables import WITHDRAW
from labelaudit.core.consensus.votes import class_ids, new_id
from labelaudit.core.errors import InputError
from labelaudit.core.store.auditlog import log_action
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import classes, decisions


@dataclass(frozen=True)
class DecisionRecord:
    decision_id: str
    lead: str
    image_id: int
    path: str
    kind: str  # label | drop
    class_name: str | None
    supersedes: str | None
    created: bool  # False when the decision id was already stored (a retry)


def _current_decision_id(conn: Connection, image_id: int) -> str | None:
    withdrawn = (
        sa.select(decisions.c.supersedes)
        .where(decisions.c.kind == WITHDRAW, decisions.c.supersedes.isnot(None))
        .scalar_subquery()
    )
    return conn.execute(
        sa.select(decisions.c.id)
        .where(
            decisions.c.image_id == image_id,
            decisions.c.kind != WITHDRAW,
            decisions.c.stale.is_(False),
            decisions.c.id.not_in(withdrawn),
        )
        .order_by(decisions.c.seq.desc())
        .limit(1)
    ).scalar()


def current_decision(store: Store, image_id: int) -> str | None:
    """The image's current lead decision as typed on the CLI (a class or drop), None if none."""
    with store.read() as conn:
        decision_id = _current_decision_id(conn, int(image_id))
        if decision_id is None:
            return None
        kind, class_name = conn.execute(
            sa.select(decisions.c.kind, classes.c.name)
            .select_from(decisions.outerjoin(classes, decisions.c.class_id == classes.c.id))
            .where(decisions.c.id == decision_id)
        ).one()
    return DROP if kind == DROP or class_name is None else format_class(class_name)


def _lead_decision(dec: Decision, image: ImageRef) -> tuple[str, str | None]:
    """(kind label | drop, class name) of a lead's decision; keep is the given class."""
    if dec.kind == UNSURE:
        raise InputError("a lead's decision is keep, a class or drop (not unsure)")
    if image.status != "ok":
        raise InputError(f"{image.path} is {image.status}: it cannot be resolved")
    if dec.kind == DROP:
        return DROP, None
    class_name = image.class_name if dec.kind == KEEP else dec.class_name
    if class_name is None:
        raise InputError(f"{image.path} has no given label to keep")
    return LABEL, class_name


def resolve_in(
    conn: Connection,
    *,
    lead: str,
    image_id: int,
    decision: Decision | str,
    note: str | None,
    decision_id: str,
) -> DecisionRecord:
    """Record a lead's decision inside the caller's transaction (idempotent by decision id)."""
    who = reg.require_lead(conn, lead)
    image = load_images(conn, [image_id])[int(image_id)]
    cids = class_ids(conn)
    dec = (
        decision
        if isinstance(decision, Decision)
        else parse_decision(decision, sorted(cids), accepted=(KEEP, DROP))
    )
    kind, class_name = _lead_decision(dec, image)
    record = DecisionRecord(
        decision_id, who.name, image.id, image.path, kind, class_name, None, True
    )
    old = conn.execute(
        sa.select(decisions.c.lead_id, decisions.c.image_id, decisions.c.supersedes).where(
            decisions.c.id == decision_id
        )
    ).first()
    if old is not None:
        if (int(old.lead_id), int(old.image_id)) != (who.id, image.id):
            raise InputError(f"decision id {decision_id} is already used by another decision")
        return replace(record, supersedes=old.supersedes, created=False)
    supersedes = _current_decision_id(conn, image.id)
    clean_note = note.strip() if note and note.strip() else None
    conn.execute(
        sa.insert(decisions).values(
            id=decision_id,
            lead_id=who.id,
            image_id=image.id,
            kind=kind,
            class_id=cids[class_name] if class_name is not None else None,
            note=clean_note,
            created_at=time.time(),
            supersedes=supersedes,
            stale=False,
        )
    )
    details = {"decision_id": decision_id, "decision": class_name or DROP}
    details.update({k: v for k, v in (("note", clean_note), ("supersedes", supersedes)) if v})
    log_action(conn, "resolve", actor=who.name, target=image.path, details=details)
    return replace(record, supersedes=supersedes)


def resolve(
    store: Store,
    *,
    lead: str,
    image_id: int,
    decision: Decision | str,
    note: str | None = None,
    decision_id: str | None = None,
) -> DecisionRecord:
    """Record a lead's final decision on one image (lead only; keep is the given class)."""
    fixed_id = decision_id or new_id()
    return store.write(
        lambda conn: resolve_in(
            conn, lead=lead, image_id=image_id, decision=decision, note=note, decision_id=fixed_id
        )
    )


def withdraw_decision(store: Store, *, lead: str, decision_id: str) -> None:
    """Undo a decision: append a withdrawal; the one it superseded (if any) is current again."""

    def apply(conn: Connection) -> None:
        who = reg.require_lead(conn, lead)
        row = conn.execute(
            sa.select(decisions.c.image_id, decisions.c.kind).where(decisions.c.id == decision_id)
        ).first()
        if row is None or row.kind == WITHDRAW:
            raise InputError(f"no decision {decision_id} to withdraw")
        already = conn.execute(
            sa.select(decisions.c.id).where(
                decisions.c.kind == WITHDRAW, decisions.c.supersedes == decision_id
            )
        ).first()
        if already is not None:
            return
        conn.execute(
            sa.insert(decisions).values(
                id=new_id(),
                lead_id=who.id,
                image_id=int(row.image_id),
                kind=WITHDRAW,
                class_id=None,
                note=None,
                created_at=time.time(),
                supersedes=decision_id,
                stale=False,
            )
        )
        log_action(
            conn,
            "withdraw_decision",
            actor=who.name,
            target=load_images(conn, [int(row.image_id)])[int(row.image_id)].path,
            details={"decision_id": decision_id},
        )

    store.write(apply)

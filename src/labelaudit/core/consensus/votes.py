"""Casting and retracting votes, putting images into review (architecture.md §5, "Votes").

A vote record: a client-made UUID (a retried insert is idempotent), the annotator, the image, the
kind (label | drop | unsure), the class for label, whether it was cast as "keep the given label"
(keep is stored as the given class at voting time), a note, the time and whether the model's
suggestion was shown. Votes are append-only: voting again adds a vote that replaces the current
one, and undo appends a retraction. Every vote is written to the audit log in the same transaction.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.consensus import annotators as reg
from labelaudit.core.consensus.decisions import KEEP, LABEL, Decision, parse_decision
from labelaudit.core.consensus.image_refs import ImageRef, load_images
from labelaudit.core.consensus.tables import RETRACT
from labelaudit.core.consensus.vote_times import check_time
from labelaudit.core.errors import InputError
from labelaudit.core.store.auditlog import os_identity
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import audit_log, classes, review_requests, votes

CHUNK = 500


@dataclass(frozen=True)
class VoteRequest:
    """One vote to cast. ``decision`` may be text (parsed against the project's classes)."""

    annotator: str
    image_id: int
    decision: Decision | str
    note: str | None = None
    suggestion_shown: bool = False
    vote_id: str | None = None
    created_at: float | None = None


@dataclass(frozen=True)
class VoteRecord:
    """A stored vote. ``created`` is False when the vote id was already stored (a retry)."""

    vote_id: str
    annotator: str
    image_id: int
    path: str
    kind: str  # label | drop | unsure
    class_name: str | None
    is_keep: bool
    created: bool


def new_id() -> str:
    return str(uuid.uuid4())


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def class_ids(conn: Connection) -> dict[str, int]:
    return {name: int(cid) for cid, name in conn.execute(sa.select(classes.c.id, classes.c.name))}


def _resolve_decision(
    decision: Decision | str, image: ImageRef, names: list[str]
) -> tuple[str, str | None, bool]:
    """(kind, class name, is_keep) for a decision on ``image``; keep becomes the given class."""
    dec = decision if isinstance(decision, Decision) else parse_decision(decision, names)
    if image.status != "ok":
        raise InputError(f"{image.path} is {image.status}: it cannot be reviewed")
    if dec.kind == KEEP:
        if image.class_name is None:
            raise InputError(f"{image.path} has no given label to keep")
        return LABEL, image.class_name, True
    if dec.kind == LABEL:
        return LABEL, dec.class_name, dec.class_name == image.class_name
    return dec.kind, None, False


StoredVote = tuple[int, int, str, int | None]  # annotator id, image id, kind, class id


def _existing_votes(conn: Connection, ids: list[str]) -> dict[str, StoredVote]:
    """{vote id: (annotator id, image id, kind, class id)} for the ids already stored."""
    c = votes.c
    out: dict[str, StoredVote] = {}
    for part in _chunks(ids):
        query = sa.select(c.id, c.annotator_id, c.image_id, c.kind, c.class_id)
        for vote_id, who, image, kind, cid in conn.execute(query.where(c.id.in_(part))):
            out[vote_id] = (int(who), int(image), kind, None if cid is None else int(cid))
    return out


def _reuse_problem(vote_id: str, stored: StoredVote | None, wanted: StoredVote) -> str | None:
    """Why a vote id already stored cannot stand for ``wanted``; None when it is new or the same
    vote (a retry or a re-import)."""
    if stored is None:
        return None
    if stored[:2] != wanted[:2]:
        return f"vote id {vote_id} is already used by another annotator or image"
    if stored[2:] != wanted[2:]:
        return f"vote id {vote_id} is already stored with another decision"
    return None


def request_review(
    conn: Connection, image_ids: Iterable[int], *, reason: str, annotator_id: int | None = None
) -> list[int]:
    """Record a review request of ``reason`` for the images without one (an image a lead adds
    after someone voted on it gets its 'lead' request too: the export treats those as
    flagged); returns the ids added."""
    wanted = sorted(set(int(i) for i in image_ids))
    have: set[int] = set()
    for part in _chunks(wanted):
        have.update(
            conn.execute(
                sa.select(review_requests.c.image_id)
                .where(review_requests.c.image_id.in_(part), review_requests.c.reason == reason)
                .distinct()
            ).scalars()
        )
    added = [i for i in wanted if i not in have]
    if added:
        now = time.time()
        conn.execute(
            sa.insert(review_requests),
            [
                {"image_id": i, "reason": reason, "annotator_id": annotator_id, "created_at": now}
                for i in added
            ],
        )
    return added


def log_many(conn: Connection, entries: list[dict[str, Any]]) -> None:
    """Append many audit-log entries (action, actor, target, details) in one statement."""
    import json

    if not entries:
        return
    user, host = os_identity()
    now = time.time()
    conn.execute(
        sa.insert(audit_log),
        [
            {
                "time": now,
                "os_user": user,
                "host": host,
                "actor": e.get("actor"),
                "action": e["action"],
                "target": e.get("target"),
                "details": json.dumps(e["details"], sort_keys=True, default=str)
                if e.get("details")
                else None,
            }
            for e in entries
        ],
    )


def _vote_row(
    vote_id: str, voter_id: int, image_id: int, kind: str, class_id: int | None, **extra: Any
) -> dict[str, Any]:
    """A ``votes`` row; ``extra`` sets is_keep, note, created_at, suggestion_shown, retracts."""
    row = {
        "id": vote_id,
        "annotator_id": voter_id,
        "image_id": image_id,
        "kind": kind,
        "class_id": class_id,
        "is_keep": False,
        "note": None,
        "created_at": time.time(),
        "suggestion_shown": False,
        "retracts": None,
        "stale": False,
    }
    row.update(extra)
    return row


def _vote_log(voter: str, path: str, row: dict[str, Any], class_name: str | None) -> dict[str, Any]:
    decision = KEEP if row["is_keep"] else class_name or row["kind"]
    details = {"vote_id": row["id"], "decision": decision}
    details.update({"note": row["note"]} if row["note"] else {})
    return {"action": "vote", "actor": voter, "target": path, "details": details}


def _time_of(req: VoteRequest, index: int, row_names: Sequence[str] | None) -> float:
    assert req.created_at is not None
    try:
        return check_time(req.created_at)
    except InputError as exc:
        raise InputError(f"{row_names[index]}: {exc}" if row_names else str(exc)) from None


def cast_votes_in(
    conn: Connection, requests: Sequence[VoteRequest], *, row_names: Sequence[str] | None = None
) -> list[VoteRecord]:
    """Cast every vote inside the caller's transaction, validating all before writing any.

    A vote id already stored (or used earlier in ``requests``) for the same vote is a retry and
    adds nothing; for another annotator, image or decision it is an InputError, prefixed with the
    request's entry in ``row_names`` (e.g. "line 3") when given.
    """
    who = {n: reg.lookup(conn, n) for n in {r.annotator for r in requests}}
    image_refs = load_images(conn, (r.image_id for r in requests))
    cids = class_ids(conn)
    names = sorted(cids)
    stored = _existing_votes(conn, [r.vote_id for r in requests if r.vote_id])
    records: list[VoteRecord] = []
    rows: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    for index, req in enumerate(requests):
        vote_id = req.vote_id or new_id()
        image = image_refs[int(req.image_id)]
        voter = who[req.annotator]
        kind, class_name, is_keep = _resolve_decision(req.decision, image, names)
        class_id = cids[class_name] if class_name is not None else None
        record = VoteRecord(
            vote_id, voter.name, image.id, image.path, kind, class_name, is_keep, True
        )
        wanted = (voter.id, image.id, kind, class_id)
        problem = _reuse_problem(vote_id, stored.get(vote_id), wanted)
        if problem:
            raise InputError(f"{row_names[index]}: {problem}" if row_names else problem)
        if vote_id in stored:
            records.append(replace(record, created=False))
            continue
        stored[vote_id] = wanted
        note = req.note.strip() if req.note and req.note.strip() else None
        when = {} if req.created_at is None else {"created_at": _time_of(req, index, row_names)}
        row = _vote_row(
            vote_id,
            voter.id,
            image.id,
            kind,
            class_id,
            is_keep=is_keep,
            note=note,
            suggestion_shown=bool(req.suggestion_shown),
            **when,
        )
        rows.append(row)
        logs.append(_vote_log(voter.name, image.path, row, class_name))
        records.append(record)
    if rows:
        conn.execute(sa.insert(votes), rows)
        for voter in who.values():
            mine = [r["image_id"] for r in rows if r["annotator_id"] == voter.id]
            if mine:
                request_review(conn, mine, reason="vote", annotator_id=voter.id)
        log_many(conn, logs)
    return records


def cast_votes(store: Store, requests: Sequence[VoteRequest]) -> list[VoteRecord]:
    """Cast many votes in one transaction (all or none). Vote ids are fixed before the write, so
    a retried transaction, or a caller retrying the whole call, stores each vote once."""
    fixed = [r if r.vote_id else replace(r, vote_id=new_id()) for r in requests]
    return store.write(lambda conn: cast_votes_in(conn, fixed))


def cast_vote(
    store: Store,
    *,
    annotator: str,
    image_id: int,
    decision: Decision | str,
    note: str | None = None,
    suggestion_shown: bool,
    vote_id: str | None = None,
) -> VoteRecord:
    """Cast one vote: keep | a class | drop | unsure. It replaces the annotator's current vote on
    the image (the history is kept); a vote on an image not in review puts it into review."""
    request = VoteRequest(annotator, image_id, decision, note, suggestion_shown, vote_id)
    return cast_votes(store, [request])[0]


def _votes_by_id(conn: Connection, vote_ids: list[str]) -> tuple[dict[str, Any], set[str]]:
    """({vote id: row} for the ids stored, the ids already retracted)."""
    found: dict[str, Any] = {}
    done: set[str] = set()
    for part in _chunks(vote_ids):
        found.update(
            (r.id, r)
            for r in conn.execute(
                sa.select(votes.c.id, votes.c.annotator_id, votes.c.image_id, votes.c.kind).where(
                    votes.c.id.in_(part)
                )
            )
        )
        done.update(
            conn.execute(
                sa.select(votes.c.retracts).where(
                    votes.c.kind == RETRACT, votes.c.retracts.in_(part)
                )
            ).scalars()
        )
    return found, done


def retract_votes_in(conn: Connection, annotator: str, vote_ids: Sequence[str]) -> list[str]:
    """Append a retraction for each vote (an annotator retracts only their own votes)."""
    voter = reg.lookup(conn, annotator)
    found, done = _votes_by_id(conn, list(vote_ids))
    rows: list[dict[str, Any]] = []
    for vote_id in vote_ids:
        row = found.get(vote_id)
        if row is None or row.kind == RETRACT:
            raise InputError(f"no vote {vote_id} to retract")
        if int(row.annotator_id) != voter.id:
            raise InputError(f"vote {vote_id} was cast by someone else than {voter.name}")
        if vote_id in done:
            continue  # already retracted: undo twice changes nothing
        done.add(vote_id)
        rows.append(
            _vote_row(new_id(), voter.id, int(row.image_id), RETRACT, None, retracts=vote_id)
        )
    if rows:
        conn.execute(sa.insert(votes), rows)
        paths = load_images(conn, (r["image_id"] for r in rows))
        log_many(
            conn,
            [
                {
                    "action": "retract_vote",
                    "actor": voter.name,
                    "target": paths[r["image_id"]].path,
                    "details": {"vote_id": r["retracts"]},
                }
                for r in rows
            ],
        )
    return [r["id"] for r in rows]


def retract_vote(store: Store, *, annotator: str, vote_id: str) -> None:
    """Undo a vote: append a retraction; the annotator's previous vote (if any) is current again."""
    store.write(lambda conn: retract_votes_in(conn, annotator, [vote_id]))


def _in_review(store: Store, image_ids: Sequence[int]) -> set[int]:
    """Those of ``image_ids`` already in review (flagged, requested, voted on or stale)."""
    from labelaudit.core.consensus.review import load_review
    from labelaudit.core.consensus.states import in_review_mask

    data = load_review(store, with_paths=False)
    ids = np.asarray(image_ids, dtype=np.int64)
    pos, found = data.image_index(ids)
    return set(ids[found & in_review_mask(data)[pos]].tolist())

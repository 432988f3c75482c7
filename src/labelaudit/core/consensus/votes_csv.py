"""Votes to and from CSV: columns ``annotator,path,label`` and optional ``vote_id,note,time,
suggestion_shown``.

``label`` is a class name, ``keep``, ``drop`` or ``unsure`` (``class:NAME`` for a class named
like one of those words). Many rows may name the same path; rows are applied in file order, so the
last row of an annotator on a path is their current vote. Every row is validated before anything
is written; names not yet registered become annotators. A row without ``vote_id`` gets an id
derived from its content and its position among identical rows, so importing the same file twice
adds nothing; a ``vote_id`` already stored for another annotator, image or decision is an error
naming the line. ``time`` must lie between 1970 and 2200 (``vote_times.check_time``). The export
writes the current votes (``vote_counts``: the latest of each annotator on each image, neither
retracted nor stale) in the order they were cast, with their ids: export and import round-trip.
``--history`` writes every vote record with a ``status`` column (current, replaced, retracted,
stale); importing such a file casts only its current and replaced rows, in order. Cells are
escaped against spreadsheet formulas (``core/csv_safe.py``) and unescaped on import. A stored
time that is not a usable time is written empty and counted.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.consensus import annotators as reg
from labelaudit.core.consensus.decisions import Decision, format_class, parse_decision
from labelaudit.core.consensus.image_refs import ImageRef
from labelaudit.core.consensus.tables import RETRACT
from labelaudit.core.consensus.vote_times import check_time, usable_time
from labelaudit.core.consensus.votes import VoteRequest, _resolve_decision, cast_votes_in, log_many
from labelaudit.core.csv_safe import SafeDictWriter, unescape_cell
from labelaudit.core.errors import InputError
from labelaudit.core.paths import to_relpath
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import annotators, classes, images, votes

REQUIRED = ("annotator", "path", "label")
OPTIONAL = ("vote_id", "note", "time", "suggestion_shown")
COLUMNS = REQUIRED + OPTIONAL
# ``votes export --history`` adds each record's status; import skips retracted and stale rows.
STATUS = "status"
CURRENT, REPLACED, RETRACTED, STALE = "current", "replaced", "retracted", "stale"
HISTORY_COLUMNS = (*COLUMNS, STATUS)
ID_NAMESPACE = uuid.UUID("3f1d8a52-5a55-4c4e-9a7e-6c1ab2d0c0de")


@dataclass(frozen=True)
class ImportReport:
    rows: int
    added: int
    already_stored: int
    new_annotators: list[str]


@dataclass(frozen=True)
class VotesExport:
    rows: list[dict[str, Any]]
    bad_times: list[str]  # ids of the votes whose stored time is unusable (written empty)


def _parse_time(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return check_time(float(text), text=text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
        seconds = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    except (ValueError, OverflowError, OSError):
        raise InputError(f"not a time (ISO 8601 or epoch seconds): {text!r}") from None
    return check_time(seconds, text=text)


def _format_time(value: Any) -> str:
    """ISO 8601 in UTC, or '' for a stored value that is not a usable time."""
    when = usable_time(value)
    if when is None:
        return ""
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="microseconds")


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise InputError(f"suggestion_shown must be true or false, got {text!r}")


def _vote_id(text: str, content: tuple[str, ...], seen: dict[tuple[str, ...], int]) -> str:
    if text.strip():
        try:
            return str(uuid.UUID(text.strip()))
        except ValueError:
            raise InputError(f"vote_id is not a UUID: {text!r}") from None
    occurrence = seen.get(content, 0)
    seen[content] = occurrence + 1
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join((*content, str(occurrence)))))


def _read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED if c not in header]
            unknown = [h for h in header if h not in HISTORY_COLUMNS]
            if missing or unknown:
                raise InputError(
                    f"{path}: columns must be {', '.join(REQUIRED)} and optionally "
                    f"{', '.join((*OPTIONAL, STATUS))}; "
                    + (f"missing {', '.join(missing)}" if missing else f"unknown {unknown[0]!r}")
                )
            reader.fieldnames = header
            return [
                (
                    reader.line_num,
                    {k: unescape_cell(v or "") for k, v in row.items() if k is not None},
                )
                for row in reader
            ]
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text") from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a valid CSV file ({exc})") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _without_undone(
    path: Path, rows: list[tuple[int, dict[str, str]]]
) -> list[tuple[int, dict[str, str]]]:
    """Rows of a ``votes export --history`` file that were retracted or went stale are history,
    not votes to cast: left out (replaced ones are cast in order, the last stays current)."""
    known = (CURRENT, REPLACED, RETRACTED, STALE, "")
    for line, row in rows:
        if row.get(STATUS, "").strip() not in known:
            raise InputError(
                f"{path} line {line}: status must be one of {', '.join(known[:-1])}; "
                "nothing was imported"
            )
    return [(n, r) for n, r in rows if r.get(STATUS, "").strip() not in (RETRACTED, STALE)]


def _images_by_path(conn: Connection, paths: Iterable[str]) -> dict[str, ImageRef]:
    wanted = sorted(set(paths))
    found: dict[str, ImageRef] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            sa.select(images.c.id, images.c.path, classes.c.name, images.c.status)
            .select_from(images.outerjoin(classes, images.c.class_id == classes.c.id))
            .where(images.c.path.in_(wanted[start : start + 500]))
        )
        found.update({r.path: ImageRef(int(r.id), r.path, r.name, r.status) for r in rows})
    return found


def _build_requests(
    conn: Connection, path: Path, rows: list[tuple[int, dict[str, str]]], image_root: Path
) -> list[VoteRequest]:
    """Validate every row; raise one InputError naming the first problem and how many more."""
    class_names = sorted(conn.execute(sa.select(classes.c.name)).scalars())
    relpaths: dict[int, str] = {}
    problems: list[str] = []
    for line, row in rows:
        try:
            relpaths[line] = to_relpath(row["path"], image_root)
        except InputError as exc:
            problems.append(f"line {line}: {exc}")
    refs = _images_by_path(conn, relpaths.values())
    seen: dict[tuple[str, ...], int] = {}
    requests: list[VoteRequest] = []
    for line, row in rows:
        if line not in relpaths:
            continue
        try:
            name = reg.clean_name(row["annotator"])
            image = refs.get(relpaths[line])
            if image is None:
                raise InputError(f"no image {relpaths[line]!r} in the project")
            decision: Decision = parse_decision(row["label"], class_names)
            _resolve_decision(decision, image, class_names)
            note = row.get("note", "")
            when = _parse_time(row.get("time", ""))
            content = (name, image.path, str(decision), note, row.get("time", "").strip())
            requests.append(
                VoteRequest(
                    annotator=name,
                    image_id=image.id,
                    decision=decision,
                    note=note or None,
                    suggestion_shown=_parse_bool(row.get("suggestion_shown", "")),
                    vote_id=_vote_id(row.get("vote_id", ""), content, seen),
                    created_at=when,
                )
            )
        except InputError as exc:
            problems.append(f"line {line}: {exc}")
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InputError(f"{path} {problems[0]}{more}; nothing was imported")
    return requests


def import_votes(
    store: Store, path: Path, *, image_root: Path, actor: str | None = None
) -> ImportReport:
    """Import a votes CSV in one transaction (all rows or none)."""
    rows = _without_undone(path, _read_rows(path))
    if not rows:
        raise InputError(f"{path} holds no votes")

    def apply(conn: Connection) -> ImportReport:
        requests = _build_requests(conn, path, rows, image_root)
        known = set(conn.execute(sa.select(annotators.c.name)).scalars())
        new_names = sorted({r.annotator for r in requests} - known)
        for name in new_names:
            reg.ensure(conn, name, actor=actor)
        try:  # every row is valid by now: only a vote id reused for another vote is left
            records = cast_votes_in(conn, requests, row_names=[f"line {line}" for line, _ in rows])
        except InputError as exc:
            raise InputError(f"{path} {exc}; nothing was imported") from None
        added = sum(r.created for r in records)
        if added:
            log_many(
                conn,
                [
                    {
                        "action": "votes_import",
                        "actor": actor,
                        "target": str(path),
                        "details": {"rows": len(rows), "added": added},
                    }
                ],
            )
        return ImportReport(len(rows), added, len(records) - added, new_names)

    return store.write(apply)


def _status(rows: Sequence[Any], undone: set[str]) -> list[str]:
    """Each record's status, as ``tables.load_votes`` decides what is current: among the
    records neither retracted nor stale, the latest per (annotator, image)."""
    latest: dict[tuple[int, int], int] = {}
    for i, r in enumerate(rows):  # in seq order: a later record replaces an earlier one
        if r.vote_id not in undone and not r.stale:
            latest[(int(r.annotator_id), int(r.id))] = i
    current = set(latest.values())
    return [
        RETRACTED
        if r.vote_id in undone
        else STALE
        if r.stale
        else CURRENT
        if i in current
        else REPLACED
        for i, r in enumerate(rows)
    ]


def export_rows(
    store: Store, *, hidden_image_ids: np.ndarray | None = None, history: bool = False
) -> VotesExport:
    """The current votes (``vote_counts``) in ``seq`` order as CSV rows (``COLUMNS``); with
    ``history`` every vote record, replaced, retracted and stale ones too, with its ``status``."""
    undone_query = sa.select(votes.c.retracts).where(
        votes.c.kind == RETRACT, votes.c.retracts.isnot(None)
    )
    query = (
        sa.select(
            annotators.c.name,
            votes.c.annotator_id,
            images.c.path,
            images.c.id,
            votes.c.kind,
            classes.c.name.label("class_name"),
            votes.c.id.label("vote_id"),
            votes.c.note,
            votes.c.created_at,
            votes.c.suggestion_shown,
            votes.c.stale,
        )
        .select_from(
            votes.join(annotators, votes.c.annotator_id == annotators.c.id)
            .join(images, votes.c.image_id == images.c.id)
            .outerjoin(classes, votes.c.class_id == classes.c.id)
        )
        .where(votes.c.kind != RETRACT)
        .order_by(votes.c.seq)
    )
    hidden = set(hidden_image_ids.tolist()) if hidden_image_ids is not None else set()
    with store.read() as conn:
        undone = set(conn.execute(undone_query).scalars())
        rows = conn.execute(query).all()
    out = []
    for r, status in zip(rows, _status(rows, undone), strict=True):
        if int(r.id) in hidden or (status != CURRENT and not history):
            continue
        row = {
            "annotator": r.name,
            "path": r.path,
            "label": format_class(r.class_name) if r.kind == "label" else r.kind,
            "vote_id": r.vote_id,
            "note": r.note or "",
            "time": _format_time(r.created_at),
            "suggestion_shown": "true" if r.suggestion_shown else "false",
        }
        out.append({**row, STATUS: status} if history else row)
    return VotesExport(out, [r["vote_id"] for r in out if not r["time"]])


def write_csv(rows: list[dict[str, Any]], out: Any, columns: Iterable[str] = COLUMNS) -> None:
    """The rows as CSV, every cell escaped against spreadsheet formulas."""
    writer = SafeDictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)

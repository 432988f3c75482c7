"""A parsed export into the project: its images as a CSV manifest for the normal import, its votes
through the same vote writer as ``votes import`` (``votes.cast_votes_in``).

The manifest is written inside the project folder (``sources/``) and recorded as the project's
import source, so a later ``labelaudit import`` re-reads the same labels without the tool's file.
"""

from __future__ import annotations

import csv
import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.consensus import annotators as reg
from labelaudit.core.consensus.decisions import LABEL, Decision
from labelaudit.core.consensus.votes import VoteRequest, cast_votes_in, log_many
from labelaudit.core.consensus.votes_csv import _images_by_path
from labelaudit.core.errors import InputError
from labelaudit.core.interop import cvat, fiftyone_io, labelstudio
from labelaudit.core.interop.model import ForeignExport, bad_record
from labelaudit.core.store.auditlog import log_action
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import annotators, classes

# --from FORMAT:PATH for init/import; votes import takes the first three.
FORMATS = ("labelstudio", "cvat", "datumaro", "fiftyone", "fiftyone-dataset")
VOTE_FORMATS = ("labelstudio", "cvat", "datumaro")
SOURCES_DIR = "sources"


def parse_spec(text: str) -> tuple[str, str]:
    """``FORMAT:PATH`` -> (format, path)."""
    fmt, sep, rest = text.partition(":")
    if not sep or fmt not in FORMATS or not rest:
        raise InputError(f"--from takes FORMAT:PATH with FORMAT one of {', '.join(FORMATS)}")
    return fmt, rest


def read_export(
    fmt: str,
    where: str,
    *,
    image_root: Path,
    path_map: list[tuple[str, str]],
    given: str = "ground-truth",
    allowed: set[str] | None = None,
) -> ForeignExport:
    """Parse and validate one export; raises InputError naming the first bad record."""
    path = Path(where)
    if fmt == "fiftyone-dataset":
        return fiftyone_io.read_live(
            where, image_root=image_root, given_field="ground_truth", allowed=allowed
        )
    if fmt == "fiftyone":
        return fiftyone_io.read_dir(path, image_root=image_root, allowed=allowed)
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the {fmt} export file")
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    kw = {"image_root": image_root, "path_map": path_map, "allowed": allowed}
    if fmt == "labelstudio":
        return labelstudio.read(path, given=given, **kw)  # type: ignore[arg-type]
    if fmt == "cvat":
        return cvat.read_xml(path, **kw)  # type: ignore[arg-type]
    return cvat.read_datumaro(path, **kw)  # type: ignore[arg-type]


def write_manifest(export: ForeignExport, project_folder: Path) -> Path:
    """The export's images and given labels as ``path,label`` (empty: no given label)."""
    folder = project_folder / SOURCES_DIR
    folder.mkdir(exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("path", "label"))
    writer.writerows((i.path, i.label or "") for i in export.images)
    target = folder / f"{export.fmt}-manifest.csv"
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8", newline="")
    os.replace(tmp, target)
    return target


def write_scores(
    export: ForeignExport, project_folder: Path, class_names: list[str]
) -> Path | None:
    """Per-class prediction scores as a ``--pred-probs`` CSV (rows scoring every class)."""
    rows = [
        (path, [scores[c] for c in class_names])
        for path, scores in sorted(export.scores.items())
        if all(c in scores for c in class_names)
    ]
    if not rows:
        return None
    target = project_folder / SOURCES_DIR / f"{export.fmt}-pred-probs.csv"
    target.parent.mkdir(exist_ok=True)
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("path", *class_names))
        for path, values in rows:
            total = sum(values) or 1.0
            writer.writerow((path, *(f"{v / total:.6g}" for v in values)))
    return target


@dataclass(frozen=True)
class VotesReport:
    votes: int
    added: int
    already_stored: int
    new_annotators: list[str]
    unreadable: int  # votes on broken or missing images, which cannot take votes
    notes: list[str] = field(default_factory=list)


def add_classes(store: Store, names: set[str], *, actor: str | None = None) -> list[str]:
    """Create the classes that only votes use (the import makes those of given labels)."""

    def apply(conn: Connection) -> list[str]:
        known = set(conn.execute(sa.select(classes.c.name)).scalars())
        added = sorted(names - known)
        now = time.time()
        for name in added:
            conn.execute(sa.insert(classes).values(name=name, created_at=now))
            log_action(conn, "add_class", actor=actor, target=name)
        return added

    return store.write(apply)


def _requests(conn: Connection, export: ForeignExport) -> tuple[list[VoteRequest], list[str], int]:
    """Every vote checked against the project (image and class known) before any is written."""
    names = set(conn.execute(sa.select(classes.c.name)).scalars())
    refs = _images_by_path(conn, (v.path for v in export.votes))
    out: list[VoteRequest] = []
    records: list[str] = []
    unreadable = 0
    for vote in export.votes:
        image = refs.get(vote.path)
        if image is None:
            raise bad_record(export.source, vote.record, f"no image {vote.path!r} in the project")
        if vote.label not in names:
            raise bad_record(export.source, vote.record, f"unknown class {vote.label!r}")
        if image.status != "ok":
            unreadable += 1
            continue
        decision = Decision(LABEL, vote.label)
        records.append(vote.record)
        out.append(
            VoteRequest(
                annotator=reg.clean_name(vote.annotator),
                image_id=image.id,
                decision=decision,
                vote_id=vote.vote_id,
                created_at=vote.time,
            )
        )
    return out, records, unreadable


def import_votes(store: Store, export: ForeignExport, *, actor: str | None = None) -> VotesReport:
    """Cast the export's votes in one transaction (all or none); stored ids add nothing."""

    def apply(conn: Connection) -> VotesReport:
        requests, row_names, unreadable = _requests(conn, export)
        known = set(conn.execute(sa.select(annotators.c.name)).scalars())
        new_names = sorted({r.annotator for r in requests} - known)
        for name in new_names:
            reg.ensure(conn, name, actor=actor)
        records = cast_votes_in(conn, requests, row_names=row_names)
        added = sum(r.created for r in records)
        if added:
            details = {"format": export.fmt, "votes": len(records), "added": added}
            log_many(
                conn,
                [
                    {
                        "action": "votes_import",
                        "actor": actor,
                        "target": str(export.source),
                        "details": details,
                    }
                ],
            )
        return VotesReport(
            len(export.votes), added, len(records) - added, new_names, unreadable, export.notes
        )

    try:
        return store.write(apply)
    except InputError as exc:
        if "nothing was imported" in str(exc):
            raise
        raise InputError(f"{export.source}: {exc}; nothing was imported") from None

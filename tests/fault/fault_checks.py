"""The invariants checked after each fault, as lists of violations (strings) rather than
assertions, so that a campaign runs to its end and reports every failure it found: nothing that
labelaudit did not create changed (files by sha256, another application's PostgreSQL tables),
the store opens and is whole, every acknowledged vote is stored."""

from __future__ import annotations

import hashlib
import os
import random
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import sqlalchemy as sa

from fault_common import Outcome, clean_exit, run


# -- what labelaudit did not create ----------------------------------------------------------------
def plant_sentinels(folder: Path, tag: str) -> list[Path]:
    """A user's files: a README and a model checkpoint (bytes that look like nothing else)."""
    folder.mkdir(parents=True, exist_ok=True)
    readme, model = folder / "README.txt", folder / "best.pt"
    readme.write_text(f"my notes ({tag}): do not delete\n")
    model.write_bytes(hashlib.sha256(tag.encode()).digest() * 512)
    return [readme, model]


def digest_tree(paths: Iterable[Path]) -> dict[str, str]:
    """sha256 of every file under ``paths`` (files or folders), symbolic links by their target."""
    out: dict[str, str] = {}
    for top in paths:
        items = [top] if not top.is_dir() or top.is_symlink() else sorted(top.rglob("*"))
        for path in items:
            if path.is_symlink():
                out[str(path)] = "link:" + os.readlink(path)
            elif path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def compare_digests(before: dict[str, str], paths: Iterable[Path]) -> list[str]:
    after = digest_tree(paths)
    gone = [p for p in before if p not in after]
    changed = [p for p in before if p in after and after[p] != before[p]]
    return [f"removed {p}" for p in gone[:5]] + [f"changed {p}" for p in changed[:5]]


FOREIGN_ROWS = {
    "images": [(1, "holiday.jpg"), (2, "cat.jpg")],
    "settings": [(1, "theme=dark")],
    "user_notes": [(1, "=not labelaudit's"), (2, "keep me")],
}


def _admin_engine(url: str) -> sa.Engine:
    from labelaudit.core.store.engine import normalize_url

    return sa.create_engine(normalize_url(url).difference_update_query(["schema"]))


def plant_foreign_tables(url: str) -> None:
    """Another application's tables in ``public``, two with names labelaudit uses too."""
    engine = _admin_engine(url)
    with engine.begin() as conn:
        for table, rows in FOREIGN_ROWS.items():
            conn.exec_driver_sql(f"CREATE TABLE public.{table} (id int PRIMARY KEY, v text)")
            for row in rows:
                conn.exec_driver_sql(f"INSERT INTO public.{table} VALUES (%s, %s)", row)
    engine.dispose()


def check_foreign_tables(url: str | None) -> list[str]:
    if url is None:
        return []
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            found = {
                t: [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM public.{t} ORDER BY id")]
                for t in FOREIGN_ROWS
            }
    except sa.exc.SQLAlchemyError as exc:
        return [f"another application's tables: {type(exc).__name__}: {exc}"[:300]]
    finally:
        engine.dispose()
    return [
        f"another application's table {t} changed: {found[t]}"
        for t in FOREIGN_ROWS
        if found[t] != FOREIGN_ROWS[t]
    ]


# -- the store -------------------------------------------------------------------------------------
def sqlite_integrity(project: Path) -> list[str]:
    db = project / "labelaudit.db"
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()
    return [] if result == ["ok"] else [f"integrity_check: {result[:3]}"]


def open_project(folder: Path) -> tuple[object | None, list[str]]:
    """The project through its API (which also sweeps what killed exports left), or the one
    clear error it gives; any other exception is a violation."""
    from labelaudit.core.errors import LabelauditError
    from labelaudit.core.project import Project

    try:
        return Project.open(folder), []
    except LabelauditError:
        return None, []
    except Exception as exc:  # not one clear error: a broken store
        return None, [f"Project.open: {type(exc).__name__}: {exc}"[:300]]


def stored_paths(project: object) -> set[str]:
    from labelaudit.core.store.schema import images

    with project.store.read() as conn:  # type: ignore[attr-defined]
        return set(conn.execute(sa.select(images.c.path)).scalars())


def info_check(folder: Path) -> tuple[Outcome, list[str]]:
    """``labelaudit info`` on the project: exit 0, or one clear line."""
    out = run("info", folder)
    return out, clean_exit(out)


def store_checks(folder: Path, *, allowed_paths: list[set[str]] | None = None):
    """(project paths or None, violations): the store through the API and SQLite's own check."""
    project, violations = open_project(folder)
    if project is None:
        return None, violations
    try:
        paths = stored_paths(project)
        violations += sqlite_integrity(folder)
    finally:
        project.close()  # type: ignore[attr-defined]
    if allowed_paths is not None and paths not in allowed_paths:
        sizes = ", ".join(str(len(a)) for a in allowed_paths)
        violations.append(f"half-published import: {len(paths)} images stored, not one of {sizes}")
    return paths, violations


def store_opened(project: Path) -> Callable[[], bool] | None:
    """A SQLite project's WAL file exists while a process has the store open (it is removed
    when the last connection closes); PostgreSQL shows no such sign."""
    wal = project / "labelaudit.db-wal"
    return wal.exists if (project / "labelaudit.db").exists() else None


# -- votes -----------------------------------------------------------------------------------------
VOTE_ID = re.compile(r"\(vote ([0-9a-f-]{36})\)")  # in ``labelaudit vote``'s acknowledgement


def write_votes_csv(
    csv_file: Path,
    *,
    annotators: list[str],
    paths: list[str],
    labels: list[str],
    n: int,
    rng: random.Random,
) -> list[str]:
    """A ``votes import`` file of ``n`` rows with fresh vote ids; returns the ids."""
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]
    lines = ["annotator,path,label,vote_id"]
    for k, vote_id in enumerate(ids):
        who = annotators[k % len(annotators)]
        lines.append(f"{who},{rng.choice(paths)},{rng.choice(labels)},{vote_id}")
    csv_file.write_text("\n".join(lines) + "\n")
    return ids


def vote_ids(folder: Path) -> set[str]:
    from labelaudit.core.project import Project
    from labelaudit.core.store.schema import votes

    with Project.open(folder) as project, project.store.read() as conn:
        return set(conn.execute(sa.select(votes.c.id)).scalars())


def current_vote_ids(folder: Path) -> set[str]:
    """Each annotator's latest vote on each image: what ``votes export`` writes (a vote the same
    annotator replaced later is history, not exported)."""
    from labelaudit.core.project import Project
    from labelaudit.core.store.schema import votes

    latest = (
        sa.select(sa.func.max(votes.c.seq))
        .where(votes.c.kind != "retract")
        .group_by(votes.c.annotator_id, votes.c.image_id)
    )
    with Project.open(folder) as project, project.store.read() as conn:
        return set(conn.execute(sa.select(votes.c.id).where(votes.c.seq.in_(latest))).scalars())

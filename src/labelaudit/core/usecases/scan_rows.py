"""The life of a ``scans`` row: create, claim for resume, heartbeat, fold checkpoints, finish.

A running scan keeps ``host``, ``pid`` and ``heartbeat_at`` fresh (every HEARTBEAT_INTERVAL_S). It
counts as alive while its heartbeat is younger than HEARTBEAT_TIMEOUT_S and, on the same host,
its process exists; otherwise it was killed and may be resumed. Starting a scan, refusing a second
one and claiming an unfinished one happen in one write transaction (on PostgreSQL under a lock on
``scans``), so two scans started at once cannot both run.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import fields
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit import __version__
from labelaudit.core.dataset.catalog import Catalog
from labelaudit.core.errors import InputError
from labelaudit.core.processes import pid_exists
from labelaudit.core.scan.api import ScanConfig
from labelaudit.core.store.arrays import array_names, get_array, put_array
from labelaudit.core.store.auditlog import os_identity
from labelaudit.core.store.engine import Store
from labelaudit.core.store.scan_results import owner
from labelaudit.core.store.schema import arrays, scans
from labelaudit.core.versions import package_versions

HEARTBEAT_INTERVAL_S = 5.0
HEARTBEAT_TIMEOUT_S = 60.0
UNFINISHED = ("running", "cancelled", "failed")
LIBRARIES = ("torch", "torchvision", "cleanlab", "scikit-learn", "numpy")


class ScanBusyError(InputError):
    """Another scan of this project is running."""


def library_versions() -> dict[str, str | None]:
    """Versions from package metadata: nothing heavy is imported."""
    return {"labelaudit": __version__, **package_versions(LIBRARIES)}


def is_alive(row: Any, *, now: float | None = None) -> bool:
    """True if a ``running`` scan row still has a live process behind it."""
    if row.status != "running":
        return False
    now = time.time() if now is None else now
    fresh = row.heartbeat_at is not None and now - row.heartbeat_at < HEARTBEAT_TIMEOUT_S
    if fresh and row.host == os_identity()[1] and row.pid:
        return pid_exists(int(row.pid))
    return fresh


def lock_scans(conn: Connection) -> None:
    """Serialise scan starts (SQLite's BEGIN IMMEDIATE already does)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE scans IN SHARE ROW EXCLUSIVE MODE")


def _running_rows(conn: Connection) -> list[Any]:
    """The ``running`` rows whose process is gone; ScanBusyError if one is alive."""
    now = time.time()
    dead = []
    for row in conn.execute(sa.select(scans).where(scans.c.status == "running")).all():
        if is_alive(row, now=now):
            age = now - (row.heartbeat_at or now)
            raise ScanBusyError(
                f"scan #{row.id} is already running (pid {row.pid} on {row.host}, heartbeat "
                f"{age:.0f} s ago); wait for it to finish or stop it first"
            )
        dead.append(row)
    return dead


def check_not_running(conn: Connection) -> None:
    """ScanBusyError if a live scan exists (a read-only early check)."""
    _running_rows(conn)


def refuse_if_running(conn: Connection) -> None:
    """ScanBusyError if a live scan exists; dead ``running`` rows become ``failed``."""
    for row in _running_rows(conn):
        conn.execute(
            sa.update(scans)
            .where(scans.c.id == row.id)
            .values(status="failed", error="interrupted: its process is gone")
        )


def config_key(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a stored config that decides the cross-validated predictions."""
    return {f.name: config.get(f.name) for f in fields(ScanConfig)}


def find_resumable(
    conn: Connection,
    *,
    config: dict[str, Any],
    class_names: list[str],
    image_ids: np.ndarray,
    labels: np.ndarray,
) -> tuple[int, int] | None:
    """(scan id, finished folds) of the newest unfinished cv scan of the same inputs, or None."""
    rows = conn.execute(
        sa.select(scans)
        .where(scans.c.kind == "cv", scans.c.status.in_(UNFINISHED))
        .order_by(scans.c.id.desc())
    )
    wanted = config_key(config)
    for row in rows:
        if row.n_images != len(image_ids) or json.loads(row.class_names) != class_names:
            continue
        if config_key(json.loads(row.config)) != wanted:
            continue
        old_ids = get_array(conn, owner(row.id), "image_ids")
        old_labels = get_array(conn, owner(row.id), "labels")
        if old_ids is None or old_labels is None:
            continue
        if np.array_equal(old_ids, image_ids) and np.array_equal(old_labels, labels):
            folds = [n for n in array_names(conn, owner(row.id)) if _fold_of(n) is not None]
            return int(row.id), len(folds)
    return None


def create_scan(
    conn: Connection,
    *,
    kind: str,
    status: str,
    config: dict[str, Any],
    class_names: list[str],
    n_images: int,
) -> int:
    _, host = os_identity()
    now = time.time()
    result = conn.execute(
        sa.insert(scans).values(
            created_at=now,
            heartbeat_at=now,
            status=status,
            kind=kind,
            config=json.dumps(config, sort_keys=True, default=str),
            versions=json.dumps(library_versions(), sort_keys=True),
            timings="{}",
            summary="{}",
            class_names=json.dumps(class_names, ensure_ascii=False),
            n_images=n_images,
            folds_done=0,
            host=host,
            pid=os.getpid(),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def start_or_resume(store: Store, catalog: Catalog, config: dict[str, Any]) -> tuple[int, int]:
    """Create a running cv scan row, or claim an unfinished one with the same inputs.

    Returns (scan id, folds already done)."""

    def apply(conn: Connection) -> tuple[int, int]:
        lock_scans(conn)
        refuse_if_running(conn)
        found = find_resumable(
            conn,
            config=config,
            class_names=catalog.class_names,
            image_ids=catalog.image_ids,
            labels=catalog.labels,
        )
        if found is not None:
            claim(conn, found[0])
            return found
        scan_id = create_scan(
            conn,
            kind="cv",
            status="running",
            config=config,
            class_names=catalog.class_names,
            n_images=len(catalog),
        )
        # The inputs a later run compares against before resuming.
        put_scan_inputs(conn, scan_id, catalog.image_ids, catalog.labels)
        return scan_id, 0

    return store.write(apply)


def set_config(conn: Connection, scan_id: int, config: dict[str, Any]) -> None:
    """Replace a scan's stored config (e.g. adding what was only known at its end)."""
    conn.execute(
        sa.update(scans)
        .where(scans.c.id == scan_id)
        .values(config=json.dumps(config, sort_keys=True, default=str))
    )


def put_scan_inputs(
    conn: Connection, scan_id: int, image_ids: np.ndarray, labels: np.ndarray
) -> None:
    """The images and labels a scan starts from: what a later run compares before resuming."""
    put_array(conn, owner(scan_id), "image_ids", np.asarray(image_ids, dtype=np.int64))
    put_array(conn, owner(scan_id), "labels", np.asarray(labels, dtype=np.int64))


def claim(conn: Connection, scan_id: int) -> None:
    """Take over an unfinished scan in this process."""
    conn.execute(
        sa.update(scans)
        .where(scans.c.id == scan_id)
        .values(
            status="running",
            error=None,
            host=os_identity()[1],
            pid=os.getpid(),
            heartbeat_at=time.time(),
            versions=json.dumps(library_versions(), sort_keys=True),
        )
    )


def still_ours(conn: Connection, scan_id: int) -> bool:
    row = conn.execute(sa.select(scans).where(scans.c.id == scan_id)).first()
    return (
        row is not None
        and row.status == "running"
        and row.pid == os.getpid()
        and row.host == os_identity()[1]
    )


def mark_ended(store: Store, scan_id: int, *, status: str, error: str | None) -> None:
    """Record a cancelled or failed scan; its fold checkpoints stay for a resume."""

    def apply(conn: Connection) -> None:
        if still_ours(conn, scan_id):
            conn.execute(
                sa.update(scans)
                .where(scans.c.id == scan_id)
                .values(status=status, error=error, finished_at=time.time())
            )

    store.write(apply, budget_s=10)


def _fold_of(name: str) -> int | None:
    if name.startswith("fold") and name.endswith("_probs") and name[4:-6].isdigit():
        return int(name[4:-6])
    return None


PART = "part:"  # prefix of the arrays a distributed scan's ranks store for rank 0 (scan.ranks)


def drop_fold_arrays(conn: Connection, scan_id: int) -> None:
    """The checkpoints of a published scan (its results hold the same rows)."""
    names = [
        n
        for n in array_names(conn, owner(scan_id))
        if _fold_of(n) is not None or n.startswith(PART)
    ]
    if names:
        conn.execute(
            sa.delete(arrays).where(arrays.c.owner == owner(scan_id), arrays.c.name.in_(names))
        )


class StoreCheckpoint:
    """``FoldCheckpoint`` in the project database: each fold saved in its own transaction."""

    def __init__(self, store: Store, scan_id: int) -> None:
        self.store = store
        self.scan_id = scan_id

    def load(self, fold: int) -> np.ndarray | None:
        with self.store.read() as conn:
            return get_array(conn, owner(self.scan_id), f"fold{fold}_probs")

    def save(self, fold: int, pred_probs: np.ndarray) -> None:
        def apply(conn: Connection) -> None:
            put_array(conn, owner(self.scan_id), f"fold{fold}_probs", pred_probs)
            done = sum(_fold_of(n) is not None for n in array_names(conn, owner(self.scan_id)))
            conn.execute(
                sa.update(scans)
                .where(scans.c.id == self.scan_id)
                .values(folds_done=done, heartbeat_at=time.time())
            )

        self.store.write(apply)

    def load_part(self, name: str) -> np.ndarray | None:
        with self.store.read() as conn:
            return get_array(conn, owner(self.scan_id), PART + name)

    def save_part(self, name: str, array: np.ndarray) -> None:
        def apply(conn: Connection) -> None:
            put_array(conn, owner(self.scan_id), PART + name, array)

        self.store.write(apply)

    def stored(self) -> set[str]:
        """The folds (``fold{k}_probs``) and parts (by their names) stored so far."""
        with self.store.read() as conn:
            names = array_names(conn, owner(self.scan_id))
        parts = {n.removeprefix(PART) for n in names if n.startswith(PART)}
        return parts | {n for n in names if _fold_of(n) is not None}


class Heartbeat:
    """A daemon thread that keeps ``heartbeat_at`` fresh while the scan runs."""

    def __init__(self, store: Store, scan_id: int, *, interval_s: float = HEARTBEAT_INTERVAL_S):
        self.store = store
        self.scan_id = scan_id
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scan-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 5)

    def _run(self) -> None:
        def beat(conn: Connection) -> None:
            conn.execute(
                sa.update(scans)
                .where(scans.c.id == self.scan_id, scans.c.status == "running")
                .values(heartbeat_at=time.time())
            )

        while not self._stop.wait(self.interval_s):
            try:
                self.store.write(beat, budget_s=self.interval_s)
            except Exception:  # a missed beat is harmless; the next one retries
                continue

"""Publishing a finished scan: every array, the summary, the timings and status ``done`` in the
one transaction that ends a scan (``usecases/scan.py``), and the audit-log entry."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.audit.analyze import AuditResult
from labelaudit.core.store.auditlog import log_action
from labelaudit.core.store.engine import Store
from labelaudit.core.store.scan_results import save_arrays, save_class_arrays
from labelaudit.core.store.schema import scans
from labelaudit.core.usecases import scan_rows


def publish_results(
    conn: Connection,
    scan_id: int,
    result: AuditResult,
    timings: dict[str, float],
    *,
    fold: np.ndarray | None,
    summary_extra: dict[str, Any] | None = None,
) -> None:
    """Every array, the summary and status ``done``: called inside the publishing transaction."""
    arrays = dict(result.arrays)
    if fold is not None:
        arrays["fold"] = fold.astype(np.int8)
    scan_rows.drop_fold_arrays(conn, scan_id)
    save_arrays(conn, scan_id, arrays)
    save_class_arrays(conn, scan_id, result.class_arrays)
    summary = {**result.summary, **(summary_extra or {})}
    conn.execute(
        sa.update(scans)
        .where(scans.c.id == scan_id)
        .values(
            status="done",
            finished_at=time.time(),
            heartbeat_at=time.time(),
            summary=json.dumps(summary, sort_keys=True, default=str, ensure_ascii=False),
            timings=json.dumps({k: round(v, 3) for k, v in timings.items()}, sort_keys=True),
            error=None,
        )
    )
    issues = result.summary["label_issues"]["flagged"]
    log_action(conn, "scan", target=f"scan:{scan_id}", details={"label_issues": issues})


def timed_write(store: Store, fn: Any, timings: dict[str, float]) -> int:
    started = time.perf_counter()
    scan_id = int(store.write(fn))
    timings["store_s"] = time.perf_counter() - started
    return scan_id


def record_calibration(
    conn: Connection,
    scan_id: int,
    stored_config: dict[str, Any],
    fits: list[dict[str, float]] | None,
) -> None:
    """The temperatures that tempered the stored pred_probs (None: raw softmax, --no-calibrate)."""
    calibration = None
    if fits:
        temperatures = [f["temperature"] for f in fits]
        calibration = {
            "method": "noise-aware temperature per fold, fit on the other folds",
            "mean_temperature": round(float(np.mean(temperatures)), 4),
            "folds": fits,
        }
    scan_rows.set_config(conn, scan_id, {**stored_config, "calibration": calibration})


def json_safe(info: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(json.dumps(info, default=str)))

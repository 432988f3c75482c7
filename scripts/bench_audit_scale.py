"""Audit and store N synthetic pred_probs (default 1,000,000 x 100): time and peak memory, apart.

Usage:
    python scripts/bench_audit_scale.py [--n 1000000] [--k 100] [--db URL] [--phases store]

Each phase runs in its own child process so that its peak resident memory (ru_maxrss) is its own:

- ``cleanlab``: ``find_label_issues`` alone (cleanlab's defaults, n_jobs=1), the reference figure;
- ``audit``: labelaudit's whole audit (confident joint, label issues, quality scores, suggestions,
  health, per-class noise, overlapping classes, imbalance, exact-duplicate groups);
- ``store``: publishing the scan (every array + summary, one transaction) into a fresh SQLite file
  (or ``--db`` PostgreSQL), then reading back what the app loads (``LIGHT`` arrays).

The synthetic data: labels uniform over K classes, 5% flipped to another class, pred_probs from a
"model" 80% confident in the true class (float32). "data" is the RSS after generating it.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def synthetic(n: int, k: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    labels = truth.copy()
    flip = rng.random(n) < 0.05
    labels[flip] = (truth[flip] + rng.integers(1, k, int(flip.sum()))) % k
    pred_probs = rng.random((n, k), dtype=np.float32)
    pred_probs *= 0.2 / pred_probs.sum(axis=1, keepdims=True)
    pred_probs[np.arange(n), truth] += 0.8
    return labels, pred_probs


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_cleanlab(labels: np.ndarray, pred_probs: np.ndarray, _: Any) -> dict[str, float]:
    from cleanlab.filter import find_label_issues

    start = time.perf_counter()
    issues = find_label_issues(labels, pred_probs, n_jobs=1)
    return {"seconds": time.perf_counter() - start, "flagged": float(issues.sum())}


def _audit(labels: np.ndarray, pred_probs: np.ndarray) -> Any:
    from labelaudit.core.audit.analyze import AuditOptions, audit_predictions

    dup_group = np.full(labels.size, -1, dtype=np.int64)
    dup_group[:2000] = np.arange(2000) // 2  # 1,000 pairs of exact copies
    names = [f"class_{i:03d}" for i in range(pred_probs.shape[1])]
    return audit_predictions(
        labels,
        pred_probs,
        image_ids=np.arange(1, labels.size + 1),
        class_names=names,
        options=AuditOptions(),
        dup_group=dup_group,
    )


def phase_audit(labels: np.ndarray, pred_probs: np.ndarray, _: Any) -> dict[str, float]:
    start = time.perf_counter()
    result = _audit(labels, pred_probs)
    out = {
        "seconds": time.perf_counter() - start,
        "flagged": float(result.arrays["is_label_issue"].sum()),
    }
    out.update({k: v for k, v in result.timings.items()})
    return out


def phase_store(labels: np.ndarray, pred_probs: np.ndarray, db: str | None) -> dict[str, float]:
    from labelaudit.core.audit import scan_rows
    from labelaudit.core.audit.results import LIGHT, load_results
    from labelaudit.core.audit.run import publish_results
    from labelaudit.core.store.engine import Store, normalize_url, sqlite_url
    from labelaudit.core.store.migrations import create_schema

    result = _stand_in_result(labels, pred_probs)  # the audit's arrays, without its memory peak
    before = rss_mb()
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        store = Store(normalize_url(db) if db else sqlite_url(Path(tmp) / "bench.db"))
        store.write(create_schema)
        names = [f"class_{i:03d}" for i in range(pred_probs.shape[1])]

        def publish(conn: Any) -> int:
            scan_id = scan_rows.create_scan(
                conn,
                kind="pred_probs",
                status="running",
                config={},
                class_names=names,
                n_images=labels.size,
            )
            fold = np.full(labels.size, -1, dtype=np.int8)
            publish_results(conn, scan_id, result, {}, fold=fold)
            return scan_id

        start = time.perf_counter()
        scan_id = store.write(publish)
        stored = time.perf_counter() - start
        size = (Path(tmp) / "bench.db").stat().st_size / 2**20 if not db else float("nan")
        start = time.perf_counter()
        loaded = load_results(store, scan_id, names=LIGHT)
        read = time.perf_counter() - start
        assert loaded is not None and loaded.n == labels.size
        if db:
            from labelaudit.core.store.schema import metadata

            store.write(lambda conn: metadata.drop_all(conn))
        store.dispose()
    return {"seconds": stored, "read_light_s": read, "db_mb": size, "rss_before_mb": before}


def _stand_in_result(labels: np.ndarray, pred_probs: np.ndarray) -> Any:
    """An AuditResult with every array an audit stores, of the right dtypes and shapes."""
    from labelaudit.core.audit.analyze import AuditResult

    n, k = pred_probs.shape
    suggested = pred_probs.argmax(axis=1).astype(np.int64)
    arrays = {
        "image_ids": np.arange(1, n + 1, dtype=np.int64),
        "labels": labels.astype(np.int64),
        "pred_probs": pred_probs,
        "suggested": suggested,
        "suggested_prob": pred_probs[np.arange(n), suggested],
        "label_quality": pred_probs[np.arange(n), labels],
        "is_label_issue": suggested != labels,
        "issue_flags": (suggested != labels).astype(np.uint8),
        "near_dup_group": np.full(n, -1, dtype=np.int64),
        "excluded": np.zeros(n, dtype=bool),
    }
    joint = np.eye(k)
    class_arrays = {"confident_joint": (joint * 1000).astype(np.int64), "joint": joint / k}
    summary = {"n_images": n, "label_issues": {"flagged": int(arrays["is_label_issue"].sum())}}
    return AuditResult(arrays, class_arrays, summary)


PHASES = {"cleanlab": phase_cleanlab, "audit": phase_audit, "store": phase_store}


def _child(name: str, n: int, k: int, db: str | None, queue: Any) -> None:
    start = time.perf_counter()
    # Imports are a one-time cost of a process: timed apart from the phases.
    for module in ("cleanlab.count", "cleanlab.dataset", "cleanlab.filter", "cleanlab.rank"):
        importlib.import_module(module)

    import_s = time.perf_counter() - start
    labels, pred_probs = synthetic(n, k)
    data_mb = rss_mb()
    figures = PHASES[name](labels, pred_probs, db)
    queue.put({**figures, "import_s": import_s, "data_mb": data_mb, "peak_mb": rss_mb()})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--db", default=None, help="PostgreSQL URL for the store phase")
    parser.add_argument("--phases", default=",".join(PHASES), help="comma list (default: all)")
    args = parser.parse_args()
    print(f"N = {args.n:,}, K = {args.k}; load average {os.getloadavg()}; {os.cpu_count()} CPUs")
    context = multiprocessing.get_context("spawn")
    for name in args.phases.split(","):
        queue = context.Queue()
        proc = context.Process(target=_child, args=(name, args.n, args.k, args.db, queue))
        proc.start()
        figures = queue.get()
        proc.join()
        extra = ", ".join(
            f"{key} {value:.2f}"
            for key, value in figures.items()
            if key not in ("seconds", "data_mb", "peak_mb")
        )
        print(
            f"{name:9s} {figures['seconds']:6.2f} s   peak RSS {figures['peak_mb']:6.0f} MB "
            f"(data alone {figures['data_mb']:.0f} MB)   {extra}"
        )
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

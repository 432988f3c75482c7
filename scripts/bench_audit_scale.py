"""Audit and store N synthetic pred_probs (default 1,000,000 x 100): time and peak memory, apart.

Usage:
    python scripts/bench_audit_scale.py [--n 1000000] [--k 100] [--db URL] [--phases store]
    python scripts/bench_audit_scale.py --n 10000000 --phases batched        # memory-mapped
    python scripts/bench_audit_scale.py --n 1000000 --phases audit,batched   # + agreement

Each phase runs in its own child process so that its peak resident memory (ru_maxrss) is its own:

- ``cleanlab``: ``find_label_issues`` alone (cleanlab's defaults, n_jobs=1), the reference figure;
- ``audit``: labelaudit's whole audit in memory (confident joint, label issues, quality scores,
  suggestions, health, per-class noise, overlapping classes, imbalance, exact-duplicate groups);
- ``batched``: the same audit forced onto its chunked path (``--batch-audit-mb 0``,
  core/audit/batched.py) over pred_probs memory-mapped from a .npy file that another child writes
  first (in ``--tmp``, N x K x 4 bytes); with ``audit`` also run, the two flagged sets are
  compared;
- ``store``: publishing the scan (every array + summary, one transaction) into a fresh SQLite file
  (or ``--db`` PostgreSQL), then reading back what the app loads (``LIGHT_ARRAYS`` arrays).

The synthetic data: labels uniform over K classes, 5% flipped to another class, pred_probs from a
"model" 80% confident in the true class (float32), generated in blocks of rows so that the file
and the in-memory array are the same. "data" is the RSS after loading (or mapping) it.
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

BLOCK = 250_000  # rows generated at a time


def synthetic_block(
    start: int, stop: int, k: int, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, start])
    n = stop - start
    truth = rng.integers(0, k, n)
    labels = truth.copy()
    flip = rng.random(n) < 0.05
    labels[flip] = (truth[flip] + rng.integers(1, k, int(flip.sum()))) % k
    pred_probs = rng.random((n, k), dtype=np.float32)
    pred_probs *= 0.2 / pred_probs.sum(axis=1, keepdims=True)
    pred_probs[np.arange(n), truth] += 0.8
    return labels, pred_probs


def synthetic(n: int, k: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    labels = np.empty(n, dtype=np.int64)
    pred_probs = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        labels[start:stop], pred_probs[start:stop] = synthetic_block(start, stop, k, seed=seed)
    return labels, pred_probs


def write_synthetic(folder: Path, n: int, k: int) -> tuple[Path, Path]:
    """labels.npy and pred_probs.npy (written block by block, never whole in memory)."""
    labels = np.empty(n, dtype=np.int64)
    path = folder / "pred_probs.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f4", "fortran_order": False, "shape": (n, k)}
        )
        for start in range(0, n, BLOCK):
            stop = min(start + BLOCK, n)
            labels[start:stop], block = synthetic_block(start, stop, k)
            fh.write(block.tobytes())
    np.save(folder / "labels.npy", labels)
    return folder / "labels.npy", path


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_cleanlab(labels: np.ndarray, pred_probs: np.ndarray, _: Any) -> dict[str, float]:
    from cleanlab.filter import find_label_issues

    start = time.perf_counter()
    issues = find_label_issues(labels, pred_probs, n_jobs=1)
    return {"seconds": time.perf_counter() - start, "flagged": float(issues.sum())}


def _audit(labels: np.ndarray, pred_probs: np.ndarray, **options: float) -> Any:
    from labelaudit.core.audit.analyze import AuditOptions, audit_predictions

    dup_group = np.full(labels.size, -1, dtype=np.int64)
    dup_group[:2000] = np.arange(2000) // 2  # 1,000 pairs of exact copies
    names = [f"class_{i:03d}" for i in range(pred_probs.shape[1])]
    return audit_predictions(
        labels,
        pred_probs,
        image_ids=np.arange(1, labels.size + 1),
        class_names=names,
        options=AuditOptions(**options),  # type: ignore[arg-type]
        dup_group=dup_group,
    )


def phase_audit(labels: np.ndarray, pred_probs: np.ndarray, args: Any) -> dict[str, float]:
    return _timed_audit(labels, pred_probs, args, name="audit")


def phase_batched(labels: np.ndarray, pred_probs: np.ndarray, args: Any) -> dict[str, float]:
    return _timed_audit(labels, pred_probs, args, name="batched", batch_above_mb=0.0)


def _timed_audit(
    labels: np.ndarray, pred_probs: np.ndarray, args: Any, *, name: str, **options: float
) -> dict[str, float]:
    start = time.perf_counter()
    result = _audit(labels, pred_probs, **options)
    flagged = result.arrays["is_label_issue"]
    np.save(Path(args.tmp) / f"flagged-{name}.npy", flagged)
    out = {"seconds": time.perf_counter() - start, "flagged": float(flagged.sum())}
    out.update({k: v for k, v in result.timings.items() if k != "peak_rss_mb"})
    method = result.summary["audit_method"]
    out.update({k: float(v) for k, v in method.items() if k in ("chunk_rows", "class_groups")})
    return out


def phase_store(labels: np.ndarray, pred_probs: np.ndarray, args: Any) -> dict[str, float]:
    from labelaudit.core.store.engine import Store, normalize_url, sqlite_url
    from labelaudit.core.store.migrations import create_schema
    from labelaudit.core.store.namespace import claim_schema
    from labelaudit.core.store.scan_results import LIGHT_ARRAYS, load_results
    from labelaudit.core.usecases import scan_rows
    from labelaudit.core.usecases.scan_publish import publish_results

    db = args.db
    result = _stand_in_result(labels, pred_probs)  # the audit's arrays, without its memory peak
    before = rss_mb()
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        store = Store(normalize_url(db) if db else sqlite_url(Path(tmp) / "bench.db"))

        def create(conn: Any) -> bool:
            created = claim_schema(conn, store.schema)  # PostgreSQL: labelaudit's own schema
            if db and not created:
                raise SystemExit(f"schema {store.schema} exists: name a new one with ?schema=")
            create_schema(conn)
            return created

        created_schema = store.write(create)
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
        loaded = load_results(store, scan_id, names=LIGHT_ARRAYS)
        read = time.perf_counter() - start
        assert loaded is not None and loaded.n == labels.size
        if db and created_schema:  # only the schema this run made: never tables by name
            store.write(lambda conn: conn.exec_driver_sql(f'DROP SCHEMA "{store.schema}" CASCADE'))
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


PHASES = {
    "cleanlab": phase_cleanlab,
    "audit": phase_audit,
    "batched": phase_batched,
    "store": phase_store,
}


def _child(name: str, args: Any, queue: Any) -> None:
    start = time.perf_counter()
    # Imports are a one-time cost of a process: timed apart from the phases.
    for module in ("cleanlab.count", "cleanlab.dataset", "cleanlab.filter", "cleanlab.rank"):
        importlib.import_module(module)

    import_s = time.perf_counter() - start
    start = time.perf_counter()
    if name == "batched":
        labels = np.load(Path(args.tmp) / "labels.npy")
        pred_probs = np.load(Path(args.tmp) / "pred_probs.npy", mmap_mode="r")
    else:
        labels, pred_probs = synthetic(args.n, args.k)
    data_s = time.perf_counter() - start
    data_mb = rss_mb()
    figures = PHASES[name](labels, pred_probs, args)
    queue.put(
        {**figures, "import_s": import_s, "data_s": data_s, "data_mb": data_mb, "peak_mb": rss_mb()}
    )


def _write_child(args: Any, queue: Any) -> None:
    start = time.perf_counter()
    write_synthetic(Path(args.tmp), args.n, args.k)
    queue.put({"seconds": time.perf_counter() - start, "data_mb": 0.0, "peak_mb": rss_mb()})


def run_child(context: Any, target: Any, *args: Any) -> dict[str, float]:
    queue = context.Queue()
    proc = context.Process(target=target, args=(*args, queue))
    proc.start()
    figures = queue.get()
    proc.join()
    return dict(figures)


def report(name: str, figures: dict[str, float]) -> None:
    extra = ", ".join(
        f"{key} {value:.2f}"
        for key, value in figures.items()
        if key not in ("seconds", "data_mb", "peak_mb")
    )
    print(
        f"{name:9s} {figures['seconds']:6.2f} s   peak RSS {figures['peak_mb']:6.0f} MB "
        f"(data alone {figures['data_mb']:.0f} MB)   {extra}",
        flush=True,
    )


def agreement(folder: Path) -> None:
    memory = np.load(folder / "flagged-audit.npy")
    chunked = np.load(folder / "flagged-batched.npy")
    both, either = int((memory & chunked).sum()), int((memory | chunked).sum())
    print(
        f"flagged sets: in memory {int(memory.sum()):,}, batched {int(chunked.sum()):,}, "
        f"identical {bool(np.array_equal(memory, chunked))}, overlap {both:,} of {either:,}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--db", default=None, help="PostgreSQL URL for the store phase")
    parser.add_argument("--phases", default="cleanlab,audit,store", help="comma list")
    parser.add_argument("--tmp", default=None, help="folder for the memory-mapped .npy")
    args = parser.parse_args()
    phases = args.phases.split(",")
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        parser.error(f"unknown phases {unknown}; choose from {', '.join(PHASES)}")
    print(f"N = {args.n:,}, K = {args.k}; load average {os.getloadavg()}; {os.cpu_count()} CPUs")
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(dir=args.tmp or os.environ.get("TMPDIR")) as tmp:
        args.tmp = tmp
        if "batched" in phases:
            report("write", run_child(context, _write_child, args))
        for name in phases:
            report(name, run_child(context, _child, name, args))
        if "audit" in phases and "batched" in phases:
            agreement(Path(tmp))
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

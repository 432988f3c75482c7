"""One process against torchrun ranks: wall time and identical results of ``labelaudit scan``.

Usage: python scripts/bench_scan_ranks.py [--ranks 2] [--epochs 8] [--out DIR]

Builds the demo digits (``labelaudit demo``'s data set) once, imports it into one project, and
scans copies of it with the demo's model (small-cnn, 5 folds, CPU):
  1. one process, torch's default thread count (what a user runs by default);
  2. one process with ``--threads T`` (T = cores / ranks);
  3. ``--nproc-per-node R`` ranks, each with T threads (what --nproc-per-node runs by default).
Prints each run's wall time (process start to exit, imports included), then the largest
difference between run 2's and run 3's pred_probs and whether they flag the same images: the
same thread count per process, so they should agree exactly.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=8, help="the demo's epochs per fold")
    parser.add_argument("--out", type=Path, help="keep the projects here (default: a temp dir)")
    args = parser.parse_args()
    base = args.out or Path(tempfile.mkdtemp(prefix="bench-ranks-"))
    from labelaudit.core.dataset.demo import build_demo

    build_demo(base / "demo")
    cli = [sys.executable, "-m", "labelaudit"]
    subprocess.run([*cli, "init", base / "fresh", "--images", base / "demo" / "images"], check=True)
    threads = max(1, (os.cpu_count() or 1) // args.ranks)
    common = ["--model", "small-cnn", "--device", "cpu", "--epochs", str(args.epochs)]
    runs = {
        "one process, default threads": [],
        f"one process, --threads {threads}": ["--threads", str(threads)],
        f"{args.ranks} ranks, --threads {threads}": [
            "--threads", str(threads), "--nproc-per-node", str(args.ranks),
        ],
    }  # fmt: skip
    results = {}
    for name, extra in runs.items():
        proj = base / f"proj-{len(results)}"
        shutil.rmtree(proj, ignore_errors=True)
        shutil.copytree(base / "fresh", proj)
        load = os.getloadavg()[0]
        started = time.perf_counter()
        subprocess.run([*cli, "scan", proj, *common, *extra], check=True, capture_output=True)
        seconds = time.perf_counter() - started
        results[name] = _load(proj)
        print(f"{name:34s} {seconds:6.1f} s   (load before: {load:.2f})")
    names = list(results)
    same_threads, ranks = results[names[1]], results[names[2]]
    difference = float(np.abs(same_threads[0] - ranks[0]).max())
    flags = bool(np.array_equal(same_threads[1], ranks[1]))
    print(f"pred_probs max |difference| (same threads): {difference:.3g}; same flags: {flags}")
    print(f"projects in {base}")
    return 0


def _load(proj: Path) -> tuple[np.ndarray, np.ndarray]:
    from labelaudit.core.project import Project
    from labelaudit.core.store.scan_results import load_results

    with Project.open(proj) as project:
        results = load_results(project.store, 1)
    assert results is not None
    return results.pred_probs, results.arrays["is_label_issue"]


if __name__ == "__main__":
    raise SystemExit(main())

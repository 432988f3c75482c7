"""Peak memory and time of a whole ``labelaudit scan PROJECT --pred-probs big.npy`` process.

Usage:
    python scripts/bench_pred_probs_scan.py [--n 200000] [--k 1000] [--work DIR] [--dtype f4]
    PYTHONPATH=<other checkout>/src python scripts/bench_pred_probs_scan.py ...   # older code

Builds once under WORK a project of N distinct 8x8 PNGs in K class folders (``labelaudit init``)
and an N x K .npy of pred_probs in the documented row order (sorted paths; written block by
block: 5% of the labels wrong, a model 80% sure of the true class), then runs
``/usr/bin/time -v labelaudit scan PROJECT --pred-probs pred_probs.npy`` on a copy of the
project's fresh database (so every run publishes into the same state) and prints the wall time,
the peak resident memory and the scan's own timings. The interpreter is this one; PYTHONPATH
picks the code.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

BLOCK = 20_000  # rows of pred_probs generated at a time


def class_name(c: int) -> str:
    return f"c{c:04d}"


def image_paths(n: int, k: int) -> list[str]:
    """Relative paths, image i in class i % k (its given label)."""
    return [f"{class_name(i % k)}/{i:07d}.png" for i in range(n)]


def make_images(root: Path, n: int, k: int) -> None:
    marker = root / f".complete-{n}-{k}"
    if marker.exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    for c in range(k):
        (root / class_name(c)).mkdir(parents=True)
    base = np.random.default_rng(0).integers(0, 256, (256, 8, 8, 3), dtype=np.uint8)
    for i, rel in enumerate(image_paths(n, k)):
        arr = base[i % 256].copy()
        arr[0, :4, 0] = np.frombuffer(i.to_bytes(4, "little"), dtype=np.uint8)  # distinct
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "PNG")
        (root / rel).write_bytes(buf.getvalue())
    marker.write_text("ok")


def write_pred_probs(path: Path, n: int, k: int, dtype: str) -> None:
    """Rows in the documented order (sorted paths); the given label is i % k."""
    if path.exists():
        return
    order = sorted(range(n), key=image_paths(n, k).__getitem__)
    given = np.asarray(order, dtype=np.int64) % k
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as fh:
        header = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": (n, k)}
        np.lib.format.write_array_header_1_0(fh, header)
        for start in range(0, n, BLOCK):
            lab = given[start : start + BLOCK]
            rng = np.random.default_rng([1, start])
            truth = lab.copy()
            flip = rng.random(lab.size) < 0.05
            truth[flip] = (lab[flip] + rng.integers(1, k, int(flip.sum()))) % k
            block = rng.random((lab.size, k))
            block *= 0.2 / block.sum(axis=1, keepdims=True)
            block[np.arange(lab.size), truth] += 0.8
            fh.write(block.astype(dtype).tobytes())
    tmp.rename(path)


def build(work: Path, n: int, k: int, dtype: str) -> tuple[Path, Path]:
    images, project = work / "images", work / f"proj-{n}-{k}"
    make_images(images, n, k)
    if not (project / ".built").exists():
        shutil.rmtree(project, ignore_errors=True)
        cmd = [sys.executable, "-m", "labelaudit", "init", project, "--images", images]
        subprocess.run(list(map(str, cmd)), check=True)
        (project / ".built").write_text("ok")
    probs = work / f"pred_probs-{n}-{k}-{dtype}.npy"
    write_pred_probs(probs, n, k, dtype)
    return project, probs


def measure(project: Path, probs: Path, extra: list[str]) -> dict[str, object]:
    db, fresh = project / "labelaudit.db", project / "labelaudit.db.fresh"
    if not fresh.exists():
        shutil.copy(db, fresh)
    shutil.copy(fresh, db)  # every run publishes scan #1 into the same state
    cmd = [
        "/usr/bin/time", "-v", sys.executable, "-m", "labelaudit", "scan", str(project),
        "--pred-probs", str(probs), "--progress-json", *extra,
    ]  # fmt: skip
    load = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"scan failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", proc.stderr)
    done = json.loads(proc.stdout.splitlines()[-1])
    with sqlite3.connect(db) as conn:  # the scan's own timings (read, audit, store)
        (timings,) = conn.execute("SELECT timings FROM scans ORDER BY id DESC").fetchone()
    return {
        "peak_rss_mb": round(int(rss.group(1)) / 1024, 1) if rss else None,
        "wall": wall.group(1) if wall else None,
        "flagged": done.get("label_issues"),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "timings": json.loads(timings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--dtype", default="f4", help="dtype of the .npy: f4 or f8")
    parser.add_argument("--work", type=Path, default=Path("/tmp/labelaudit-bench-predprobs"))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("extra", nargs="*", help="more scan options, after --")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    project, probs = build(args.work, args.n, args.k, args.dtype)
    print(f"project and {probs.stat().st_size / 2**20:.0f} MB .npy ready in "
          f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    for _ in range(args.repeat):
        print(json.dumps(measure(project, probs, args.extra)), flush=True)


if __name__ == "__main__":
    main()

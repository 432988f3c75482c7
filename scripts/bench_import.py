"""Import throughput: whole ``labelaudit init`` process (discovery, read, hash, decode, commit).

Usage:
    python scripts/bench_import.py [--n 100000] [--cifar PATH] [--work DIR]

Generates N small distinct JPEGs (32x32, 10 classes) once under WORK, then times ``labelaudit init``
as a subprocess (so interpreter start-up and the final commit are included), and the same for the
CIFAR-10 test photos when present. Prints images/s and the machine load.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CIFAR = ROOT.parent / "shared" / "datasets" / "cifar10-test"


def generate(root: Path, n: int, *, classes: int = 10, seed: int = 0) -> None:
    """N distinct 32x32 JPEGs: random colour blocks plus the index drawn into the pixels."""
    marker = root / f".complete-{n}"
    if marker.exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(seed)
    for c in range(classes):
        (root / f"class_{c:02d}").mkdir(parents=True, exist_ok=True)
    base = rng.integers(0, 256, (256, 32, 32, 3), dtype=np.uint8)
    for i in range(n):
        arr = base[i % 256].copy()
        arr[0, :4, 0] = np.frombuffer(i.to_bytes(4, "little"), dtype=np.uint8)  # distinct bytes
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "JPEG", quality=90)
        (root / f"class_{i % classes:02d}" / f"{i:07d}.jpg").write_bytes(buf.getvalue())
    marker.write_text("ok")


def time_init(images: Path, project: Path) -> tuple[float, str]:
    shutil.rmtree(project, ignore_errors=True)
    exe = Path(sys.executable).parent / "labelaudit"
    # Drop the page cache effect as far as we can without root tricks: read timing is warm-cache.
    start = time.perf_counter()
    proc = subprocess.run(
        [str(exe), "init", str(project), "--images", str(images)],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - start
    return elapsed, proc.stdout.strip().splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--cifar", type=Path, default=CIFAR)
    parser.add_argument("--work", type=Path, default=Path("/tmp/labelaudit-bench-import"))
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()}")
    generated = args.work / f"images-{args.n}"
    t0 = time.perf_counter()
    generate(generated, args.n)
    print(f"generated {args.n} JPEGs in {time.perf_counter() - t0:.1f} s (cached for reruns)")
    for name, images in (("generated", generated), ("cifar10-test", args.cifar)):
        if not images.is_dir():
            print(f"{name}: skipped ({images} not found)")
            continue
        n_files = sum(1 for _ in images.rglob("*.jpg"))
        elapsed, line = time_init(images, args.work / f"project-{name}")
        print(
            f"{name}: {n_files} images, whole process {elapsed:.2f} s = {n_files / elapsed:,.0f} "
            f"images/s  [{line}]  load after: {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()

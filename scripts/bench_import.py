"""Import throughput: whole ``labelaudit init`` process (discovery, read, hash, decode, commit).

Usage:
    python scripts/bench_import.py [--n 100000] [--cifar PATH] [--work DIR]
    python scripts/bench_import.py --photos [--vga 600] [--mp12 40]

Generates N small distinct JPEGs (32x32, 10 classes) once under WORK, then times ``labelaudit init``
as a subprocess (so interpreter start-up and the final commit are included), and the same for the
CIFAR-10 test photos when present. ``--photos`` instead generates photo-sized JPEGs (640x480 and
12 MP, 4000x3000) and times, in the same run, a bare baseline: one process per core that reads,
hashes (sha256), decodes (at draft scale, as the import does) and makes a thumbnail of each file,
nothing else. The import's target is within 1.5x of that bare cost. Prints images/s and the load.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import multiprocessing
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


def generate_photos(root: Path, n: int, size: tuple[int, int], *, seed: int = 0) -> None:
    """N distinct photo-like JPEGs (smooth colour fields plus grain), 2 classes, quality 90."""
    marker = root / f".complete-{n}"
    if marker.exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        im = Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)
        grain = rng.integers(-12, 13, (64, 64, 3))
        arr = np.asarray(im, dtype=np.int16)
        arr[: size[1], : size[0]] += np.tile(grain, (size[1] // 64 + 1, size[0] // 64 + 1, 1))[
            : size[1], : size[0]
        ]
        out = root / f"class_{i % 2}" / f"{i:05d}.jpg"
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=90)
    marker.write_text("ok")


def _bare_one(path: str) -> int:
    """Read + sha256 + decode (draft scale, as the import) + thumbnail: the floor of an import."""
    data = Path(path).read_bytes()
    hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (192, 192))
        im.load()
        im.thumbnail((192, 192), Image.Resampling.BILINEAR, reducing_gap=2.0)
        im.save(io.BytesIO(), "JPEG", quality=85)
    return 1


def time_bare(images: Path) -> tuple[float, int]:
    files = sorted(str(p) for p in images.rglob("*.jpg"))
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1) as pool:
        done = sum(pool.imap_unordered(_bare_one, files, chunksize=16))
    return time.perf_counter() - start, done


def photos(args: argparse.Namespace) -> None:
    for name, n, size in (("640x480", args.vga, (640, 480)), ("12MP", args.mp12, (4000, 3000))):
        images = args.work / f"photos-{name}-{n}"
        t0 = time.perf_counter()
        generate_photos(images, n, size)
        print(f"{name}: generated {n} JPEGs in {time.perf_counter() - t0:.1f} s (cached)")
        load = os.getloadavg()[0]
        bare, done = time_bare(images)
        elapsed, line = time_init(images, args.work / f"project-photos-{name}")
        print(
            f"{name}: {done} photos, bare read+sha256+decode+thumbnail {bare:.2f} s = "
            f"{done / bare:,.0f}/s; whole labelaudit init {elapsed:.2f} s = "
            f"{done / elapsed:,.0f}/s; "
            f"ratio {elapsed / bare:.2f}x  [{line}]  load before {load:.2f}, after "
            f"{os.getloadavg()[0]:.2f}"
        )


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
    parser.add_argument(
        "--photos", action="store_true", help="photo-sized JPEGs vs a bare baseline"
    )
    parser.add_argument("--vga", type=int, default=600, help="640x480 photos (with --photos)")
    parser.add_argument("--mp12", type=int, default=40, help="12 MP photos (with --photos)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()}")
    if args.photos:
        photos(args)
        return
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

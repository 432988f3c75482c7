"""The GPU figures in one run (< 10 minutes on one H100): the full CIFAR-10 scan, retrain.py's
images/s and the retrain-gain benchmark on CIFAR-10 with 30% noise.

Prepare here (network needed once): ``scripts/gpu_bundle.sh`` builds bench-results/gpu-carry
(cp312 wheels of cleanlab, SQLAlchemy, platformdirs, termcolor and cifar10.tar.gz, ~24 MB). On
the GPU machine, from the repository root, with that folder carried along::

    python3 scripts/gpu_check.py                 # writes $OUT (or bench-results/gpu-check)
    python3 scripts/gpu_check.py --smoke         # CPU dry run on a tiny subset (a few minutes)

Steps: install the carried wheels of packages that are missing (``pip --no-index --no-deps
--target``), unpack the images, then with an empty TORCH_HOME (no pretrained backbone by
accident) and ``PYTHONPATH=src``:

1. ``scripts/bench_scan_cifar.py --gpu``: 60,000 images, small-cnn, 5 folds: time, CV accuracy;
2. ``scripts/bench_retrain_gain.py --dataset cifar10-test --noise 0.3 --seeds 0``: raw /
   auto-fix / exclude-flagged / true labels retrained with retrain.py, whose images/s each
   retraining reports.

Each step runs under its own time limit; what finished is reported even when a later step fails.
Output: ``gpu_check.json`` (figures), ``scan.json``, ``retrain_gain.json`` and the logs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMPORT_NAMES = {"cleanlab": "cleanlab", "sqlalchemy": "sqlalchemy", "SQLAlchemy": "sqlalchemy"}
SMOKE_PER_CLASS = {"cifar10-test": 130, "cifar10-train": 10}  # retrain-gain holds 100 out


def install_missing(wheels: Path, site: Path) -> list[str]:
    """pip-install (offline, no dependencies) the carried wheels whose module is missing."""
    missing = []
    for wheel in sorted(wheels.glob("*.whl")):
        name = wheel.name.split("-")[0]
        if importlib.util.find_spec(IMPORT_NAMES.get(name, name)) is None:
            missing.append(wheel)
    if missing:
        site.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
            + ["--no-compile", "--upgrade", "--target", str(site)]
            + [str(w) for w in missing],
            check=True,
        )
    return [w.name for w in missing]


def unpack(tarball: Path, dest: Path, *, smoke: bool) -> Path:
    """The two CIFAR-10 folders under ``dest`` (a subset of each class with ``smoke``)."""
    if not (dest / "cifar10-test").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as tar:
            tar.extractall(dest, filter="data")
    if not smoke:
        return dest
    small = dest.parent / (dest.name + "-smoke")
    shutil.rmtree(small, ignore_errors=True)
    for split, per_class in SMOKE_PER_CLASS.items():
        for folder in sorted(p for p in (dest / split).iterdir() if p.is_dir()):
            target = small / split / folder.name
            target.mkdir(parents=True)
            for image in sorted(folder.glob("*.jpg"))[:per_class]:
                shutil.copyfile(image, target / image.name)
    return small


def step(name: str, cmd: list[str], *, env: dict[str, str], out: Path, limit: float) -> dict:
    """Run one benchmark with a time limit; its output goes to ``out/NAME.log``."""
    started = time.monotonic()
    print(f"== {name}: {' '.join(cmd)}", flush=True)
    with open(out / f"{name}.log", "w") as log:
        try:
            code = subprocess.run(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=limit, cwd=ROOT
            ).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    seconds = round(time.monotonic() - started, 1)
    tail = (out / f"{name}.log").read_text(errors="replace").splitlines()[-15:]
    print("\n".join(tail), flush=True)
    print(f"== {name}: exit {code} after {seconds} s", flush=True)
    return {"exit": code, "seconds": seconds}


def commands(data: Path, out: Path, work: Path, *, smoke: bool) -> dict[str, list[str]]:
    py = sys.executable
    scan = [py, "scripts/bench_scan_cifar.py", "--gpu", "--data", str(data)]
    scan += ["--json", str(out / "scan.json")]
    gain = [py, "scripts/bench_retrain_gain.py", "--dataset", "cifar10-test", "--data", str(data)]
    gain += ["--noise", "0.3", "--seeds", "0", "--work", str(work / "retrain-gain")]
    gain += ["--out", str(out / "retrain_gain.json")]
    scan_args, retrain_args = "--model small-cnn", ""
    if smoke:  # the same code paths, on the CPU, in a few minutes
        scan += ["--device", "cpu", "--limit", "300", "--epochs", "1", "--folds", "3"]
        scan += ["--image-size", "16", "--threads", "1", "--no-embed"]
        scan_args += " --device cpu --epochs 1 --folds 3 --image-size 16 --no-embed"
        retrain_args = "--device cpu --image-size 16"
        gain += ["--epochs", "1", "--threads", "2"]
    gain += [f"--scan-args={scan_args}"]
    if retrain_args:
        gain += [f"--retrain-args={retrain_args}"]
    return {"scan": scan, "retrain_gain": gain}


def figures(out: Path, runs: dict[str, dict]) -> dict:
    """The headline numbers from the benchmarks' own JSON files."""
    found: dict = {"steps": runs}
    scan_file, gain_file = out / "scan.json", out / "retrain_gain.json"
    if scan_file.is_file():
        scan = json.loads(scan_file.read_text())
        keys = ("images", "device", "cv_accuracy", "wall_s", "decode_s", "train_s", "embed_s")
        found["scan"] = {k: scan.get(k) for k in (*keys, "train_images_per_s", "flip_why")}
    if gain_file.is_file():
        gain = json.loads(gain_file.read_text())
        run = gain["runs"][0]
        variants = ("raw", "auto-fix", "exclude-flagged", "true")
        found["retrain_images_per_s"] = {v: run[v]["images_per_s"] for v in variants}
        found["retrain_gain"] = {
            v: {"macro_accuracy": run[v]["macro_accuracy"], "accuracy": run[v]["accuracy"]}
            for v in variants
        }
        found["retrain_gain"]["audit"] = run.get("audit")
        found["retrain_gain"]["scan_seconds"] = run.get("scan_seconds")
    return found


def machine() -> dict:
    info = {"python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        info["torch"] = None
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--carry", type=Path, default=ROOT / "bench-results" / "gpu-carry")
    parser.add_argument(
        "--out", type=Path, default=Path(os.environ.get("OUT") or "bench-results/gpu-check")
    )
    parser.add_argument("--smoke", action="store_true", help="CPU dry run on a tiny subset")
    parser.add_argument("--scan-limit", type=float, default=330, help="seconds for the scan")
    parser.add_argument("--gain-limit", type=float, default=220, help="seconds for retrain-gain")
    args = parser.parse_args()
    tarball, wheels = args.carry / "cifar10.tar.gz", args.carry / "wheels"
    if not tarball.is_file() or not wheels.is_dir():
        print(f"error: {args.carry} lacks cifar10.tar.gz or wheels/: run scripts/gpu_bundle.sh")
        return 2
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.gettempdir()) / "labelaudit-gpu-check"
    started = time.monotonic()
    site = scratch / "site"
    installed = install_missing(wheels, site)
    data = unpack(tarball, scratch / "data", smoke=args.smoke)
    torch_home = tempfile.mkdtemp(prefix="empty-torch-home-")
    paths = [str(ROOT / "src"), str(site), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    env.update(TORCH_HOME=torch_home, PYTHONUNBUFFERED="1", LABELAUDIT_DATASETS=str(data))
    print(
        f"installed {installed or 'nothing'}; data in {data}; ready after "
        f"{time.monotonic() - started:.0f} s",
        flush=True,
    )
    limits = {"scan": args.scan_limit, "retrain_gain": args.gain_limit}
    runs = {}
    for name, cmd in commands(data, out, scratch, smoke=args.smoke).items():
        runs[name] = step(name, cmd, env=env, out=out, limit=limits[name])
    report = {**figures(out, runs), "machine": machine(), "smoke": args.smoke}
    report["total_s"] = round(time.monotonic() - started, 1)
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "steps"}, indent=2))
    return 0 if all(r["exit"] == 0 for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

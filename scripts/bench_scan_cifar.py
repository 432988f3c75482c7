"""Cross-validated scan of real photos: CIFAR-10 JPEGs from ../shared/datasets (or --data DIR).

CPU (default): the 10,000 test photos, small-cnn, 5 folds. ``--gpu``: all 60,000 (train + test)
on CUDA. Prints CV accuracy (against CIFAR's labels), how many images cleanlab flags, wall time
split into decode / training / the rest, and images per second.

    python scripts/bench_scan_cifar.py                       # CPU, 10,000 images
    python scripts/bench_scan_cifar.py --gpu                 # CUDA, 60,000 images
    python scripts/bench_scan_cifar.py --limit 2000 --epochs 4 --no-embed   # a quick look
    python scripts/bench_scan_cifar.py --gpu --device cpu --limit 300 --epochs 1  # dry run

The model is pinned to small-cnn and TORCH_HOME to an empty folder: ``--model auto`` would
fine-tune a pretrained backbone at 224 px on a machine whose torch cache holds weights, which
is another benchmark. Mirroring is decided as a scan decides it (colour photos: on; the line
``mirroring ...`` says why); ``--no-flip`` turns it off. cleanlab is imported before the scan so
that a missing package fails in the first second, not after the training.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from labelaudit.core.progress import Progress, StepState
from labelaudit.core.scan.api import ScanConfig
from labelaudit.core.scan.cv import cross_validate, resolve_config

DATASETS = Path(
    os.environ.get("LABELAUDIT_DATASETS")
    or Path(__file__).resolve().parents[2] / "shared" / "datasets"
)


class PrintProgress(Progress):
    """One line per finished step, with its duration and rate."""

    def _emit_end(self, state: StepState) -> None:
        seconds = time.monotonic() - state.started
        rate = f", {state.done / seconds:,.0f} {state.unit}/s" if seconds > 0 and state.done else ""
        print(f"  {state.name}: {seconds:.1f} s{rate}", flush=True)

    def _emit_message(self, text: str) -> None:
        print(f"  {text}", flush=True)


def folder_per_class(*roots: Path, limit: int | None) -> tuple[list[Path], np.ndarray, list[str]]:
    classes = sorted(p.name for p in roots[0].iterdir() if p.is_dir())
    paths: list[Path] = []
    labels: list[int] = []
    for root in roots:
        for index, name in enumerate(classes):
            files = sorted(f for f in (root / name).iterdir() if f.suffix.lower() == ".jpg")
            paths += files
            labels += [index] * len(files)
    order = np.arange(len(paths))
    if limit:
        order = np.random.default_rng(0).permutation(len(paths))[:limit]
        order.sort()
    return [paths[i] for i in order], np.asarray(labels, dtype=np.int64)[order], classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="60,000 images on CUDA")
    parser.add_argument(
        "--data",
        type=Path,
        default=DATASETS,
        help="folder holding cifar10-train and cifar10-test (default $LABELAUDIT_DATASETS or "
        "../shared/datasets)",
    )
    parser.add_argument("--device", default=None, help="default cuda with --gpu, else cpu")
    parser.add_argument("--model", default="small-cnn")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="a random subset of N images")
    parser.add_argument("--no-embed", action="store_true")
    parser.add_argument(
        "--no-flip", action="store_true", help="no mirror augmentation (default: as a scan decides)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    import cleanlab.filter  # noqa: F401 (fail now, not after the scan, when it is missing)

    # an empty torch cache: no pretrained backbone can be picked up by accident
    os.environ["TORCH_HOME"] = tempfile.mkdtemp(prefix="bench-torch-home-")
    test, train = args.data / "cifar10-test", args.data / "cifar10-train"
    roots = (train, test) if args.gpu else (test,)
    missing = [str(r) for r in roots if not r.is_dir()]
    if missing:
        raise SystemExit(f"missing dataset folder(s): {', '.join(missing)}")
    paths, labels, classes = folder_per_class(*roots, limit=args.limit)
    config = ScanConfig(
        model=args.model,
        device=args.device or ("cuda" if args.gpu else "cpu"),
        folds=args.folds,
        epochs=args.epochs,
        image_size=args.image_size,
        batch_size=args.batch_size,
        threads=args.threads,
        flip=False if args.no_flip else None,
        embed=not args.no_embed,
    )
    load_before = os.getloadavg()
    resolved, why = resolve_config(config, n_classes=len(classes), n_images=len(paths))
    print(f"{len(paths)} images, {len(classes)} classes; load average {load_before}")
    print(why, flush=True)
    started, cpu_started = time.perf_counter(), time.process_time()
    result = cross_validate(
        paths,
        labels,
        n_classes=len(classes),
        groups=None,
        config=resolved,
        progress=PrintProgress(),
    )
    wall = time.perf_counter() - started
    report = summarise(result.info, result.pred_probs, labels, wall, len(paths))
    report["cpu_s"] = round(time.process_time() - cpu_started, 1)  # all threads of this process
    report["load_average_before"] = load_before
    report["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def summarise(
    info: dict, pred_probs: np.ndarray, labels: np.ndarray, wall: float, n: int
) -> dict[str, object]:
    from cleanlab.filter import find_label_issues

    # n_jobs=1: cleanlab's process pool would fork a process that holds a CUDA context
    flagged = find_label_issues(labels, pred_probs, n_jobs=1)
    train_s = info.get("train_s") or 0.0
    return {
        "images": n,
        "model": info.get("model"),
        "device": info.get("device"),
        "cv_accuracy": round(float((pred_probs.argmax(axis=1) == labels).mean()), 4),
        "flagged_by_cleanlab": int(flagged.sum()),
        "noise_rate_estimate": info.get("noise_rate_estimate"),
        "flip_why": info.get("flip_why"),
        "wall_s": round(wall, 1),
        "decode_s": info.get("decode_s"),
        "train_s": train_s,
        "embed_s": info.get("embed_s"),
        "other_s": round(
            wall - train_s - (info.get("decode_s") or 0.0) - (info.get("embed_s") or 0.0), 1
        ),
        "train_images_per_s": info.get("train_images_per_s"),
        "scanned_images_per_s": round(n / wall, 1),
        "config": info.get("config"),
    }


if __name__ == "__main__":
    main()

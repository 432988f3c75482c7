"""How well a scan finds planted label errors in the demo digits (1,797 real scans, 10 classes).

For uniform noise and class-pair noise at several rates: precision, recall and F1 of cleanlab's
``find_label_issues`` (defaults) on the cross-validated pred_probs, the AUROC of the
self-confidence label-quality score, and wall time. Baseline: a logistic regression on the 8x8
pixels, cross-validated the same way.

    python scripts/bench_detection.py                  # default scan (small-cnn on a CPU)
    python scripts/bench_detection.py --rates 0.1 --kinds uniform --threads 1
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from labelaudit.core.dataset.demo import flip_labels, load_digit_images
from labelaudit.core.scan.api import ScanConfig
from labelaudit.core.scan.cv import cross_validate, resolve_config


def scores(given: np.ndarray, truth: np.ndarray, pred_probs: np.ndarray) -> dict[str, float]:
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    from sklearn.metrics import roc_auc_score

    flips = given != truth
    flagged = find_label_issues(given, pred_probs)
    hits = int((flagged & flips).sum())
    precision = hits / max(int(flagged.sum()), 1)
    recall = hits / max(int(flips.sum()), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    quality = get_label_quality_scores(given, pred_probs, method="self_confidence")
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auroc": float(roc_auc_score(flips, -quality)),
        "accuracy_vs_truth": float((pred_probs.argmax(axis=1) == truth).mean()),
        "flagged": int(flagged.sum()),
        "flips": int(flips.sum()),
    }


def pixel_baseline(given: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Logistic regression on the original 8x8 pixels, out-of-sample probabilities."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    pixels = load_digits().data / 16.0
    model = LogisticRegression(max_iter=2000)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return cross_val_predict(model, pixels, given, cv=splitter, method="predict_proba")


def write_pngs(images: np.ndarray, folder: Path) -> list[Path]:
    paths = []
    for i, image in enumerate(images):
        path = folder / f"{i:05d}.png"
        Image.fromarray(image, "L").save(path)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="0.1,0.2,0.4")
    parser.add_argument("--kinds", default="uniform,pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--model", default="auto")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-calibrate", action="store_true")
    args = parser.parse_args()

    images, truth = load_digit_images()
    config = ScanConfig(
        model=args.model,
        folds=args.folds,
        seed=args.seed,
        epochs=args.epochs,
        threads=args.threads,
        embed=False,
        calibrate=not args.no_calibrate,
    )
    resolved, why = resolve_config(config, n_classes=10, n_images=len(truth))
    print(f"load average {os.getloadavg()}; {os.cpu_count()} CPUs; {why}")
    header = (
        f"{'noise':>14} {'method':>10} {'P':>6} {'R':>6} {'F1':>6} {'AUROC':>6} {'acc':>6} {'s':>6}"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_pngs(images, Path(tmp))
        for kind in args.kinds.split(","):
            for rate in (float(r) for r in args.rates.split(",")):
                rng = np.random.default_rng(args.seed)
                given = flip_labels(truth, rate=rate, kind=kind, n_classes=10, rng=rng)
                started = (time.perf_counter(), time.process_time())
                baseline = pixel_baseline(given, args.folds, args.seed)
                _row(f"{kind} {rate:.0%}", "pixels-LR", scores(given, truth, baseline), started)
                started = (time.perf_counter(), time.process_time())
                result = cross_validate(paths, given, n_classes=10, groups=None, config=resolved)
                _row(f"{kind} {rate:.0%}", "scan", scores(given, truth, result.pred_probs), started)
    print(f"load average after: {os.getloadavg()}")


def _row(noise: str, method: str, s: dict[str, float], started: tuple[float, float]) -> None:
    wall = time.perf_counter() - started[0]
    cpu = time.process_time() - started[1]  # all threads: robust to other users' load
    print(
        f"{noise:>14} {method:>10} {s['precision']:6.3f} {s['recall']:6.3f} {s['f1']:6.3f} "
        f"{s['auroc']:6.3f} {s['accuracy_vs_truth']:6.3f} {wall:7.1f} {cpu:7.1f}",
        flush=True,
    )


if __name__ == "__main__":
    main()

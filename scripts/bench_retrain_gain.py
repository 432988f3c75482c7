"""Proof that the audit helps: retrain on raw labels, on the automatic audit's export, on truth.

Usage:
    python scripts/bench_retrain_gain.py [--dataset digits|cifar10-test] [--data DIR]
        [--seeds 0,1,2] [--noise 0.4] [--imbalance 10] [--epochs 30] [--threshold P] [--work DIR]
        [--out FILE.json] [--reuse] [--scan-args="--no-embed"] [--retrain-args="--width 32"]

For each seed, on scikit-learn's digits (32x32; or the 10,000 CIFAR-10 test photos in
cifar10-test under --data DIR (default ../shared/datasets) with --dataset cifar10-test, 100 held
out per class, meant for a GPU with --noise 0.3): hold out 30 images per class with TRUE labels
(before any audit); make the rest strongly imbalanced (3 random classes keep 1/--imbalance of
their images, the others all, so the audit still has data to learn from); plant >= --noise
label noise with cleanlab's ``benchmarking.noise_generation`` (a valid noise matrix from its
trace, every class keeping >= 35% of its labels, so the noise stays learnable); import it, run
the real ``labelaudit scan``, then export and retrain:

  (a) raw       the noisy labels as given (--unreviewed keep)
  (b) auto-fix  the automatic audit alone, no votes (--unreviewed auto-fix)
  (b) excluded  the automatic audit alone, no votes (--unreviewed exclude-flagged)
  (c) true      the true labels

Every model is scored on the held-out true-label set (retrain.py --eval-manifest), never on an
export's own cleaned test split. Prints accuracy, macro accuracy and the recall of the three
minority classes, mean +- sd over the seeds; per seed, how much of (c)'s macro accuracy each
variant recovers (goal for (b): >= 95%) and its gain over (a); and the machine load.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

VARIANTS = ("raw", "auto-fix", "exclude-flagged", "true")
MINORITY = 3  # classes cut to 1/imbalance of their images
# Every class keeps at least this share of its labels: without it one draw gave a class 17%
# right labels spread over five others, which no audit can learn back (it is no longer the
# "learnable" noise the benchmark is about). cleanlab's own knob: min_trace_prob.
MIN_KEPT = 0.35


def labelaudit(*args: str | Path, threads: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.run(
        [sys.executable, "-m", "labelaudit", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"labelaudit {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc


def noisy_labels(truth: np.ndarray, *, noise: float, seed: int) -> np.ndarray:
    """Labels with at least ``noise`` realised noise, drawn from a valid (learnable) noise matrix.

    Each class keeps at least MIN_KEPT of its labels (the diagonal of the noise matrix).
    ``generate_noisy_labels`` flips ``int(P(given|true) * p(true) * n)`` images per cell, so
    small classes flip less than the matrix says: the trace is lowered until the realised rate
    reaches ``noise``.
    """
    from cleanlab.benchmarking.noise_generation import (
        generate_noise_matrix_from_trace,
        generate_noisy_labels,
    )

    k = int(truth.max()) + 1
    py = np.bincount(truth, minlength=k) / truth.size
    trace = k * (1 - noise)
    for attempt in range(400):
        matrix = generate_noise_matrix_from_trace(
            k,
            trace,
            py=py,
            valid_noise_matrix=True,
            min_trace_prob=MIN_KEPT,
            seed=seed * 1000 + attempt,
        )
        if matrix is not None:
            np.random.seed(seed * 1000 + attempt)  # generate_noisy_labels draws from np.random
            labels = np.asarray(generate_noisy_labels(truth, matrix))
            if (labels != truth).mean() >= noise:
                return labels
        if attempt % 10 == 9:
            trace -= 0.1
    raise SystemExit(f"no valid noise matrix with {noise:.0%} noise for these class sizes")


# The dataset folders: --data DIR, else $LABELAUDIT_DATASETS, else ../shared/datasets.
DATASETS = Path(
    os.environ.get("LABELAUDIT_DATASETS")
    or Path(__file__).resolve().parents[2] / "shared" / "datasets"
)
HELD_OUT = {"digits": 30, "cifar10-test": 100}


class Source:
    """The images of a dataset, each writable under a new name: ``truth`` int (N,)."""

    def __init__(self, name: str, *, data: Path = DATASETS) -> None:
        self.name = name
        if name == "digits":
            from labelaudit.core.dataset.demo import load_digit_images

            self.pixels, self.truth = load_digit_images()
            self.ext = ".png"
        else:
            root = data / "cifar10-test"
            if not root.is_dir():
                raise SystemExit(f"{root} not found (--data DIR: the folder holding cifar10-test)")
            classes = sorted(p.name for p in root.iterdir() if p.is_dir())
            files = [(f, k) for k, c in enumerate(classes) for f in sorted((root / c).iterdir())]
            self.files = [f for f, _ in files]
            self.truth = np.array([k for _, k in files])
            self.ext = ".jpg"

    def write(self, i: int, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if self.name == "digits":
            Image.fromarray(self.pixels[i], "L").save(dest)
        else:
            shutil.copyfile(self.files[i], dest)


def write_tree(root: Path, source: Source, items: np.ndarray, labels: np.ndarray) -> None:
    for i, y in zip(items, labels):
        source.write(int(i), root / str(y) / f"{i:05d}{source.ext}")


def step_imbalance(
    labels: np.ndarray, *, ratio: float, minority: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[int]]:
    """Sorted indices kept, and the ``minority`` random classes that keep 1/ratio of theirs."""
    small = rng.choice(np.unique(labels), size=minority, replace=False)
    keep = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n = max(2, round(members.size / ratio)) if c in small else members.size
        keep.append(rng.choice(members, size=n, replace=False))
    return np.sort(np.concatenate(keep)), sorted(int(c) for c in small)


def make_data(
    work: Path,
    *,
    dataset: str,
    seed: int,
    noise: float,
    imbalance: float,
    data: Path = DATASETS,
) -> dict:
    rng = np.random.default_rng(seed)
    source = Source(dataset, data=data)
    truth = source.truth
    k = int(truth.max()) + 1
    held = np.concatenate(
        [rng.choice(np.flatnonzero(truth == c), HELD_OUT[dataset], replace=False) for c in range(k)]
    )
    pool = np.setdiff1d(np.arange(truth.size), held)
    kept, minority = step_imbalance(truth[pool], ratio=imbalance, minority=MINORITY, rng=rng)
    pool = pool[kept]
    given = noisy_labels(truth[pool], noise=noise, seed=seed)
    write_tree(work / "noisy", source, pool, given)
    write_tree(work / "true", source, pool, truth[pool])
    heldout = work / "heldout"
    rows = []
    for i in held:
        rel = f"imgs/{i:05d}{source.ext}"
        source.write(int(i), heldout / rel)
        rows.append((rel, str(truth[i])))
    with open(heldout / "truth.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([("path", "label"), *rows])
    truth_of = {f"{i:05d}{source.ext}": int(t) for i, t in zip(pool, truth[pool])}
    return {
        "n_train_pool": int(pool.size),
        "minority_classes": minority,
        "class_sizes": np.bincount(given, minlength=k).tolist(),
        "true_class_sizes": np.bincount(truth[pool], minlength=k).tolist(),
        "noise_rate": float((given != truth[pool]).mean()),
        "truth_of": truth_of,
        "heldout": heldout / "truth.csv",
    }


def audit_quality(project: Path, truth_of: dict[str, int]) -> dict:
    """How well the scan's flags match the planted errors."""
    from labelaudit.core.dataset.catalog import load_catalog
    from labelaudit.core.project import Project
    from labelaudit.core.store.scan_results import load_results

    with Project.open(project) as proj:
        catalog = load_catalog(proj.store, valid_only=True)
        scan = load_results(proj.store)
    assert scan is not None and catalog.paths is not None
    true = np.array([truth_of[p.split("/")[1]] for p in catalog.paths])
    wrong = true != np.array([int(p.split("/")[0]) for p in catalog.paths])
    flagged = scan.is_label_issue.astype(bool)
    correct_suggestion = np.array(
        [int(scan.class_names[s]) == t for s, t in zip(scan.suggested, true)]
    )
    prob = scan.suggested_prob
    by_threshold = {
        str(t): {
            "fixed": int((flagged & (prob >= t)).sum()),
            "suggestion_right": float(correct_suggestion[flagged & (prob >= t)].mean())
            if (flagged & (prob >= t)).any()
            else None,
        }
        for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    }
    return {
        "auto_fix_by_threshold": by_threshold,
        "flagged": int(flagged.sum()),
        "planted": int(wrong.sum()),
        "precision": float((flagged & wrong).sum() / max(flagged.sum(), 1)),
        "recall": float((flagged & wrong).sum() / max(wrong.sum(), 1)),
        "scan_accuracy_vs_truth": float(correct_suggestion.mean()),
    }


def export_noise(out: Path, truth_of: dict[str, int]) -> dict:
    with open(out / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "train" and "__rep" not in r["path"]]
    wrong = sum(1 for r in rows if int(r["label"]) != truth_of[Path(r["source_path"]).name])
    return {"train_images": len(rows), "train_label_noise": wrong / max(len(rows), 1)}


def retrain(
    out: Path,
    heldout: Path,
    *,
    seed: int,
    epochs: int,
    threads: int,
    extra: list[str],
    minority: list[int],
) -> dict:
    report = out.parent / f"{out.name}-report.json"
    cmd = [sys.executable, str(out / "retrain.py"), str(out), "--eval-manifest", str(heldout)]
    cmd += ["--report", str(report), "--epochs", str(epochs), "--seed", str(seed)]
    cmd += ["--keep-orientation", "--threads", str(threads), "--quiet", *extra]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"retrain failed on {out}:\n{proc.stderr}")
    result = json.loads(report.read_text())
    return {
        "accuracy": result["eval"]["accuracy"],
        "macro_accuracy": result["eval"]["macro_accuracy"],
        "minority_recall": float(
            np.mean([result["eval"]["per_class"][str(c)]["recall"] for c in minority])
        ),
        "best_epoch": result["best_epoch"],
        "images_per_s": result["images_per_s"],
        "seconds": round(time.monotonic() - started, 1),
    }


def prepare_seed(work: Path, args: argparse.Namespace, seed: int) -> dict:
    """Data, projects and the scan of one seed; reused with --reuse when already there."""
    state = work / "prepared.json"
    if args.reuse and state.is_file():
        data = json.loads(state.read_text())
        data["heldout"] = Path(data["heldout"])
        return data
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    data = make_data(
        work,
        dataset=args.dataset,
        seed=seed,
        noise=args.noise,
        imbalance=args.imbalance,
        data=args.data,
    )
    t = args.threads
    labelaudit("init", work / "p_noisy", "--images", work / "noisy", threads=t)
    labelaudit("init", work / "p_true", "--images", work / "true", threads=t)
    started = time.monotonic()
    labelaudit("scan", work / "p_noisy", "--seed", seed, "--threads", t, *args.scan_args, threads=t)
    data["scan_seconds"] = round(time.monotonic() - started, 1)
    data["audit"] = audit_quality(work / "p_noisy", data["truth_of"])
    state.write_text(json.dumps({**data, "heldout": str(data["heldout"])}))
    return data


def run_seed(work: Path, args: argparse.Namespace, seed: int) -> dict:
    data = prepare_seed(work, args, seed)
    out: dict = {
        "seed": seed,
        **{k: v for k, v in data.items() if k not in ("truth_of", "heldout")},
    }
    policies = {"raw": "keep", "auto-fix": "auto-fix", "exclude-flagged": "exclude-flagged"}
    for variant in VARIANTS:
        project = work / ("p_true" if variant == "true" else "p_noisy")
        export_dir = work / f"export-{variant}"
        policy = policies.get(variant, "keep")
        labelaudit(
            "export",
            project,
            "--out",
            export_dir,
            "--seed",
            seed,
            "--force",
            "--unreviewed",
            policy,
            "--auto-fix-threshold",
            args.threshold,
            threads=args.threads,
        )
        score = retrain(
            export_dir,
            data["heldout"],
            seed=seed,
            epochs=args.epochs,
            threads=args.threads,
            extra=args.retrain_args,
            minority=data["minority_classes"],
        )
        score.update(export_noise(export_dir, data["truth_of"]))
        out[variant] = score
        print(
            f"  seed {seed} {variant:<16} acc {score['accuracy']:.4f} macro "
            f"{score['macro_accuracy']:.4f} (train {score['train_images']} images, label noise "
            f"{score['train_label_noise']:.1%}, {score['seconds']} s)",
            flush=True,
        )
    return out


def _mean_sd(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def summarize(runs: list[dict]) -> dict:
    """Mean and sd over seeds; recovery and gain are computed per seed, then summarised."""
    table = {}
    for variant in VARIANTS:
        for metric in ("accuracy", "macro_accuracy", "minority_recall", "train_label_noise"):
            table[f"{variant}.{metric}"] = _mean_sd([r[variant][metric] for r in runs])
    for variant in ("raw", "auto-fix", "exclude-flagged"):
        macro = [r[variant]["macro_accuracy"] for r in runs]
        true = [r["true"]["macro_accuracy"] for r in runs]
        raw = [r["raw"]["macro_accuracy"] for r in runs]
        table[f"{variant}.recovery"] = _mean_sd([m / t for m, t in zip(macro, true)])
        table[f"{variant}.recovery_min"] = (min(m / t for m, t in zip(macro, true)), 0.0)
        table[f"{variant}.gain_over_raw"] = _mean_sd([m - r for m, r in zip(macro, raw)])
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(HELD_OUT), default="digits")
    parser.add_argument(
        "--data",
        type=Path,
        default=DATASETS,
        help="folder holding cifar10-test (default $LABELAUDIT_DATASETS or ../shared/datasets)",
    )
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--noise", type=float, default=0.4)
    parser.add_argument("--imbalance", type=float, default=10.0)
    parser.add_argument("--epochs", type=int, default=30, help="retraining epochs (early stopping)")
    parser.add_argument(
        "--threshold", type=float, default=None, help="--auto-fix-threshold (default: the export's)"
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=Path("bench-results/retrain-gain-work"))
    parser.add_argument("--out", type=Path, default=Path("bench-results/retrain_gain.json"))
    parser.add_argument("--scan-args", default="", help="extra 'labelaudit scan' options, quoted")
    parser.add_argument("--retrain-args", default="", help="extra retrain.py options, quoted")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse each seed's data and scan from an earlier run"
    )
    args = parser.parse_args()
    if args.threshold is None:
        from labelaudit.core.export.options import DEFAULT_AUTO_FIX_THRESHOLD

        args.threshold = DEFAULT_AUTO_FIX_THRESHOLD
    args.scan_args = args.scan_args.split()
    args.retrain_args = args.retrain_args.split()
    print(f"machine load before: {_load()} on {os.cpu_count()} CPUs")
    started = time.monotonic()
    runs = [run_seed(args.work / f"seed{s}", args, int(s)) for s in args.seeds.split(",")]
    table = summarize(runs)
    print_table(table, runs, args)
    print(f"total {time.monotonic() - started:.0f} s; machine load after: {_load()}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs, "summary": table}
    args.out.write_text(json.dumps(record, indent=2))
    print(f"details: {args.out}")
    return 0


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def print_table(table: dict, runs: list[dict], args: argparse.Namespace) -> None:
    held = HELD_OUT[args.dataset] * len(runs[0]["class_sizes"])
    print(
        f"\n{args.dataset}: held-out true-label set of {held} images; noise >= {args.noise:.0%}, "
        f"imbalance {args.imbalance:g}:1, {len(runs)} seeds (mean +- sd)"
    )
    metrics = ("accuracy", "macro_accuracy", "minority_recall", "train_label_noise")
    print(f"{'variant':<17}" + "".join(f"{m:>21}" for m in metrics))
    for variant in VARIANTS:
        cells = [table[f"{variant}.{m}"] for m in metrics]
        print(f"{variant:<17}" + "".join(f"{m:>12.4f} +- {s:.4f}" for m, s in cells))
    for variant in ("raw", "auto-fix", "exclude-flagged"):
        (rec, rec_sd), (worst, _) = table[f"{variant}.recovery"], table[f"{variant}.recovery_min"]
        gain, gain_sd = table[f"{variant}.gain_over_raw"]
        print(
            f"{variant} recovers {rec:.1%} +- {rec_sd:.1%} of the true-label macro accuracy "
            f"(worst seed {worst:.1%}); gain over raw {gain:+.4f} +- {gain_sd:.4f}"
        )
    audits = [r["audit"] for r in runs]
    keys = ("flagged", "planted", "precision", "recall", "scan_accuracy_vs_truth")
    mean = {k: float(np.mean([a[k] for a in audits])) for k in keys}
    print(
        f"audit: {mean['flagged']:.0f} images flagged ({mean['planted']:.0f} planted errors), "
        f"precision {mean['precision']:.3f}, recall {mean['recall']:.3f}, scan model accuracy "
        f"vs truth {mean['scan_accuracy_vs_truth']:.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())

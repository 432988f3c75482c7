"""``labelaudit scan PROJECT``: cross-validated CNN predictions (or your own) + cleanlab's audit."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from labelaudit.cli import scan_launch
from labelaudit.cli.common import add_project_args, open_project
from labelaudit.cli.progress_bind import make_progress
from labelaudit.core.errors import Cancelled, InputError, LabelauditError
from labelaudit.core.progress import NullProgress, ProgressEvent
from labelaudit.core.scan.api import ScanConfig
from labelaudit.core.scan.ranks import RankStopped, ranks_from_environment
from labelaudit.core.usecases.scan import (
    BATCH_ABOVE_MB,
    FILTER_METHODS,
    QUALITY_METHODS,
    ScanOutcome,
    ScanRequest,
    check_can_start,
    run_scan,
)
from labelaudit.core.usecases.scan_ranks import run_scan_rank

# Options that only shape a cross-validated scan (argparse default None / False = not given).
CV_ONLY = (
    "model", "linear_probe", "weights", "folds", "epochs", "image_size", "batch_size", "seed",
    "device", "flip", "workers", "threads", "no_embed", "no_tta", "no_calibrate",
)  # fmt: skip


def request_from_args(args: argparse.Namespace) -> ScanRequest:
    if args.pred_probs is not None:
        given = [name for name in CV_ONLY if getattr(args, name) not in (None, False)]
        if args.flip is False:  # --no-flip
            given.insert(CV_ONLY.index("flip"), "no_flip")
        if given:
            options = ", ".join("--" + name.replace("_", "-") for name in given)
            verb = "applies" if len(given) == 1 else "apply"
            raise InputError(
                f"{options} only {verb} to cross-validated scans; --pred-probs audits your own "
                "predictions as they are: drop them (--min-class-size sets the smallest class "
                "audited)"
            )
    default = ScanConfig()
    config = ScanConfig(
        model=args.model or default.model,
        linear_probe=args.linear_probe,
        weights=args.weights,
        folds=default.folds if args.folds is None else args.folds,
        epochs=args.epochs,
        image_size=args.image_size,
        batch_size=args.batch_size,
        seed=default.seed if args.seed is None else args.seed,
        device=args.device or default.device,
        flip=args.flip,
        workers=args.workers,
        threads=args.threads,
        embed=not args.no_embed,
        tta=not args.no_tta,
        calibrate=not args.no_calibrate,
    )
    return ScanRequest(
        config=config,
        filter_by=args.filter_by,
        quality_method=args.quality_method,
        min_class_size=args.min_class_size,
        pred_probs=args.pred_probs,
        embeddings=args.embeddings,
        batch_above_mb=args.batch_audit_mb,
    )


def threads_for_load(cores: int, load: float | None) -> int | None:
    """Torch threads that suit the machine now: None (torch's default) when it is quiet, else the
    cores other work leaves free. Torch's CPU threads spin while they wait for each other, so
    beside one busy process 2 threads trained 1.9x slower than 1 on a 2-core machine
    (scripts/bench_threads.py)."""
    if load is None:
        return None
    free = round(cores - load)
    return None if free >= cores else max(1, free)


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # not on every platform
        return None


def busy_hint(args: argparse.Namespace) -> str | None:
    """A line for after the scan when the machine was busy at its start and --threads was not
    given (results depend on the thread count, so it is not changed behind the user's back)."""
    if args.threads is not None or args.pred_probs is not None or args.device == "cuda":
        return None
    load = load_average()
    suggested = threads_for_load(os.cpu_count() or 1, load)
    if suggested is None:
        return None
    return (
        f"note: the machine was busy (load {load:.1f} on {os.cpu_count()} cores); "
        f"--threads {suggested} may train several times faster there"
    )


def _emit(event: ProgressEvent) -> None:
    """The final JSON line of ``--progress-json``: ``done`` or ``error``."""
    event["time"] = round(time.time(), 3)
    sys.stdout.write(json.dumps(event, default=str) + "\n")
    sys.stdout.flush()


def _error_event(exc: BaseException) -> ProgressEvent:
    if isinstance(exc, LabelauditError):
        return {"event": "error", "message": str(exc), "exit_code": exc.exit_code}
    if isinstance(exc, KeyboardInterrupt):
        return {"event": "error", "message": "interrupted", "exit_code": 130}
    return {"event": "error", "message": f"{type(exc).__name__}: {exc}", "exit_code": 70}


def _run(args: argparse.Namespace) -> int:
    ranks = ranks_from_environment()  # torchrun's, or one process
    if not ranks.distributed and args.nproc_per_node not in (None, 1):
        _check_before_launch(args)
        return scan_launch.launch(args, [str(a) for a in args.cli_argv])
    if ranks.distributed:
        scan_launch.stop_on_signals()
    progress = make_progress(json_lines=args.progress_json) if ranks.main else NullProgress()
    started = time.monotonic()
    try:
        request = request_from_args(args)
        hint = None if ranks.distributed else busy_hint(args)
        with open_project(args) as project:
            if ranks.distributed:
                outcome = run_scan_rank(
                    project.store, project.image_root, request, ranks=ranks, progress=progress
                )
            else:
                outcome = run_scan(project.store, project.image_root, request, progress=progress)
    except BaseException as exc:
        if args.progress_json and ranks.main and not isinstance(exc, SystemExit):
            _emit(_error_event(exc))
        if ranks.distributed and scan_launch.quiet_failures() and _stopped(exc):
            return exc.exit_code if isinstance(exc, LabelauditError) else 130
        raise
    if outcome is None:  # another rank than 0: rank 0 reports
        return 0
    elapsed = time.monotonic() - started
    if args.progress_json:
        _emit(_done_event(outcome, elapsed))
    else:
        print_outcome(outcome, project_dir=args.project, elapsed_s=elapsed)
        if hint and outcome.kind == "cv":
            print(hint)
    return 0


def _check_before_launch(args: argparse.Namespace) -> None:
    """What can be checked cheaply, before any rank starts: bad options, a missing project or
    one without images to scan, a scan already running give one line and start nothing."""
    request = request_from_args(args)
    request.audit_options()
    with open_project(args) as project:
        check_can_start(project.store)


def _stopped(exc: BaseException) -> bool:
    """A rank stopped because the scan stopped elsewhere (Ctrl-C, torchrun's stop, rank 0)."""
    return isinstance(exc, (KeyboardInterrupt, Cancelled, RankStopped))


def _done_event(outcome: ScanOutcome, elapsed_s: float) -> ProgressEvent:
    summary = outcome.summary
    return {
        "event": "done",
        "scan_id": outcome.scan_id,
        "kind": outcome.kind,
        "resumed_folds": outcome.resumed_folds,
        "n_images": summary["n_images"],
        "accuracy": summary["accuracy"],
        "label_issues": summary["label_issues"]["flagged"],
        "health_score": summary["health_score"],
        "elapsed_s": round(elapsed_s, 2),
    }


def print_outcome(outcome: ScanOutcome, *, project_dir: Path, elapsed_s: float) -> None:
    summary = outcome.summary
    if outcome.resumed_folds:
        print(f"resumed scan #{outcome.scan_id} from {outcome.resumed_folds} finished folds")
    model = outcome.info.get("model") if outcome.kind == "cv" else "your own predictions"
    print(
        f"scan #{outcome.scan_id} done in {elapsed_s:.0f} s: {summary['n_images']} images, "
        f"{summary['n_classes']} classes, {model}"
    )
    issues = summary["label_issues"]
    print(
        f"agreement with the given labels {100 * summary['accuracy']:.1f}%; "
        f"{issues['flagged']} labels flagged (about {issues['estimated']} look wrong)"
    )
    if outcome.kind == "cv" and outcome.info.get("flip_why"):
        print(outcome.info["flip_why"])
    print(
        f"next: labelaudit summary {project_dir}   |   "
        f"labelaudit issues {project_dir} -o issues.csv"
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "scan",
        help="cross-validate a CNN and audit the labels with cleanlab",
        description="Compute out-of-sample predicted probabilities for every valid image with "
        "K-fold cross-validated CNNs (or read your own with --pred-probs), run cleanlab's label "
        "audit, and store the results in the project. A killed or cancelled scan resumes from "
        "its finished folds when run again with the same options.",
    )
    add_project_args(parser)
    _add_model_args(parser)
    _add_audit_args(parser)
    scan_launch.add_args(parser)
    parser.add_argument(
        "--progress-json",
        action="store_true",
        help="progress as JSON lines on stdout, ending with a 'done' or 'error' event",
    )
    parser.set_defaults(func=_run)


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    model = parser.add_argument_group("model and training")
    model.add_argument(
        "--model",
        metavar="NAME",
        help="auto, small-cnn, resnet18, mobilenet_v3_small, ... (default auto: it says why)",
    )
    model.add_argument(
        "--linear-probe",
        action="store_true",
        help="frozen pretrained backbone + cross-validated logistic regression",
    )
    model.add_argument("--weights", type=Path, metavar="PATH", help="backbone state_dict file")
    model.add_argument("--folds", type=int, metavar="N", help="default 5")
    for name in ("--epochs", "--image-size", "--batch-size"):
        model.add_argument(name, type=int, default=None, metavar="N", help="default: by model")
    model.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="image decode threads (default: CPU count); training reads tensors kept in memory, "
        "no DataLoader",
    )
    model.add_argument(
        "--threads", type=int, metavar="N", help="torch threads (results are per thread count)"
    )
    model.add_argument("--seed", type=int, metavar="N", help="default 0")
    model.add_argument("--device", metavar="auto|cpu|cuda|mps", help="default auto")
    model.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="horizontal-flip augmentation (default: on when most images are in colour, i.e. "
        "photos; off for grey digits, text or symbols; the scan says which and why)",
    )
    model.add_argument(
        "--no-embed",
        action="store_true",
        help="skip the embedding network fit on all images (no near-duplicate or outlier "
        "check unless --embeddings)",
    )
    model.add_argument(
        "--no-tta", action="store_true", help="no test-time augmentation when predicting"
    )
    model.add_argument(
        "--no-calibrate",
        action="store_true",
        help="store the networks' raw softmax; by default each fold is tempered by a noise-aware "
        "temperature fit on the other folds (recorded in the scan's config)",
    )


def _add_audit_args(parser: argparse.ArgumentParser) -> None:
    audit = parser.add_argument_group("audit")
    audit.add_argument(
        "--min-class-size",
        type=int,
        default=None,
        metavar="N",
        help="classes with fewer images are reported, not flagged (default: --folds)",
    )
    audit.add_argument(
        "--filter-by",
        default="prune_by_noise_rate",
        metavar="METHOD",
        help=f"cleanlab find_label_issues method: {', '.join(FILTER_METHODS)}",
    )
    audit.add_argument(
        "--quality-method",
        default="self_confidence",
        metavar="METHOD",
        help=f"cleanlab label-quality score: {', '.join(QUALITY_METHODS)}",
    )
    audit.add_argument(
        "--batch-audit-mb",
        type=float,
        default=BATCH_ABOVE_MB,
        metavar="MB",
        help="audit pred_probs larger than this in row chunks with bounded memory (cleanlab's "
        f"batched label-issue search; same flags for the default --filter-by; default "
        f"{BATCH_ABOVE_MB:g}, 0 = always)",
    )
    audit.add_argument(
        "--pred-probs",
        type=Path,
        metavar="FILE",
        help="audit your own model's out-of-sample probabilities: a .npy (N x K, rows in the "
        "order of 'labelaudit issues PROJECT --all --order path') or a CSV with a path column "
        "and one column per class",
    )
    audit.add_argument(
        "--embeddings",
        type=Path,
        metavar="FILE.npy",
        help="your own embeddings (N x D) for near-duplicates and outliers; rows as --pred-probs",
    )

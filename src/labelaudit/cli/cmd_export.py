"""``labelaudit export PROJECT --out DIR``: the cleaned, split, rebalanced dataset to retrain on."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from labelaudit.cli import interop_cli
from labelaudit.cli.common import add_project_args, for_terminal, open_project, print_json
from labelaudit.cli.progress_bind import make_progress
from labelaudit.core.consensus.methods import AUTO, METHODS
from labelaudit.core.export.options import (
    DEDUPE_MODES,
    DEFAULT_AUTO_FIX_THRESHOLD,
    FILE_MODES,
    REBALANCE_MODES,
    UNREVIEWED_POLICIES,
    ExportOptions,
    parse_formats,
    parse_splits,
)
from labelaudit.core.usecases.export import ExportResult, export_dataset


def _options(args: argparse.Namespace) -> ExportOptions:
    return ExportOptions(
        consensus=args.consensus,
        unreviewed=args.unreviewed,
        auto_fix_threshold=args.auto_fix_threshold,
        dedupe=args.dedupe,
        splits=parse_splits(args.splits),
        keep_splits=args.keep_splits,
        seed=args.seed,
        rebalance=args.rebalance,
        formats=parse_formats(args.format),
        mode=args.mode,
        force=args.force,
    )


def _run(args: argparse.Namespace) -> int:
    review = interop_cli.export_tasks(args)  # labelstudio-review / cvat-review: tasks only
    if review is not None:
        return review
    options = _options(args)
    progress = make_progress(json_lines=args.progress_json)
    with open_project(args) as project:
        result = export_dataset(project, args.out, options, progress=progress)
    if args.json:
        print_json({"export_id": result.export_id, "out": str(result.out_dir), **result.counts})
    else:
        print_result(result)
    return 0


def print_result(result: ExportResult) -> None:
    c: dict[str, Any] = result.counts
    out = for_terminal(result.out_dir)
    print(
        f"exported {c['images_exported']} images ({c['rows_written']} rows, {c['repeats']} "
        f"oversampled repeats) to {out}"
    )
    for split, per_class in c["after"].items():
        print(f"  {split:<5} {sum(per_class.values()):>7}")
    left_out = ", ".join(f"{n} {reason}" for reason, n in c["excluded"].items()) or "none"
    print(f"relabelled {c['relabelled']}; left out: {left_out}; unresolved {c['unresolved']}")
    deviations = result.provenance["splits"]["deviations"]
    if deviations:
        print(
            f"{len(deviations)} class/split counts differ from their share by more than one "
            "image (duplicate groups kept together); see provenance.json"
        )
    for warning in result.warnings:
        print(f"warning: {for_terminal(warning)}")
    print(f"what changed: {out}/CHANGES.md")
    print(f"retrain: python {out}/retrain.py {out}   (or: labelaudit retrain {out})")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "export",
        help="write the cleaned, split, rebalanced dataset with provenance",
        description="Write the dataset to retrain on: each image's final label (the lead's "
        "decision, else the consensus, else the --unreviewed policy), stratified splits that "
        "keep duplicate groups together, class weights, manifest, provenance, CHANGES.md and a "
        "standalone retrain.py. Written to a temporary folder and renamed at the end; source "
        "images are never touched.",
    )
    add_project_args(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="export folder")
    _add_label_args(parser)
    parser.add_argument(
        "--splits",
        default="0.8,0.1,0.1",
        metavar="TRAIN,VAL[,TEST]",
        help="split fractions, stratified by final label (default 0.8,0.1,0.1)",
    )
    parser.add_argument(
        "--keep-splits",
        action="store_true",
        help="use the split column of the imported manifest instead",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="same seed, same export (>= 0, default 0)"
    )
    parser.add_argument(
        "--rebalance",
        choices=REBALANCE_MODES,
        default="none",
        help="train split only: repeat minority classes, or leave out majority images "
        "(default none: class weights do the balancing)",
    )
    parser.add_argument(
        "--format",
        default="imagefolder,csv",
        metavar="LIST",
        help="comma list of imagefolder, csv, labelstudio (default imagefolder,csv); or "
        "labelstudio-review and/or cvat-review alone: the images to review as tasks for that "
        "tool (docs/interop-labelstudio.md, docs/interop-cvat.md)",
    )
    parser.add_argument(
        "--mode",
        choices=FILE_MODES,
        default="copy",
        help="image files as copies (default), hard links (same file system; the link IS the "
        "source) or relative symbolic links (not portable)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a previous export in DIR: only a folder whose every file its "
        "provenance.json lists with a matching sha256 (kept until the new one is recorded)",
    )
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.add_argument("--progress-json", action="store_true", help="progress as JSON lines")
    parser.set_defaults(func=_run)


def _add_label_args(parser: argparse.ArgumentParser) -> None:
    """How each image's final label is decided."""
    parser.add_argument(
        "--consensus",
        choices=(AUTO, *METHODS),
        default=AUTO,
        metavar="METHOD",
        help=f"consensus method for voted images: {', '.join(METHODS)} (default auto: the same "
        "as 'labelaudit consensus', crowdlab with a scan)",
    )
    parser.add_argument(
        "--unreviewed",
        choices=UNREVIEWED_POLICIES,
        default="exclude-flagged",
        help="images the scan flagged or a lead put into review that nobody settled (also "
        "while waiting for votes or a lead): keep their given label, exclude them (default), "
        "or auto-fix (take the model's suggestion when its probability >= "
        "--auto-fix-threshold, else exclude); other images keep their given label",
    )
    parser.add_argument(
        "--auto-fix-threshold",
        type=float,
        default=DEFAULT_AUTO_FIX_THRESHOLD,
        metavar="P",
        help=f"minimum out-of-sample probability of the suggestion for auto-fix "
        f"(default {DEFAULT_AUTO_FIX_THRESHOLD})",
    )
    parser.add_argument(
        "--dedupe",
        choices=DEDUPE_MODES,
        default="keep-one",
        help="exact duplicates: export one of each group (default) or all",
    )

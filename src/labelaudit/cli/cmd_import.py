"""``labelaudit import PROJECT``: re-import the image root (new, moved, changed, removed files)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from labelaudit.cli import interop_cli
from labelaudit.cli.common import add_project_args, for_terminal, open_project, print_json
from labelaudit.cli.progress_bind import make_progress
from labelaudit.core.dataset.importer import ImportReport
from labelaudit.core.dataset.problems import REASONS
from labelaudit.core.dataset.source import choose_source
from labelaudit.core.errors import InputError
from labelaudit.core.project import Project

MAX_LISTED = 10


def add_import_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--manifest",
        type=Path,
        metavar="FILE.csv",
        help="import the images listed in a CSV with columns path,label[,split] (paths relative to "
        "the image root) instead of a folder-per-class tree",
    )
    parser.add_argument(
        "--classes",
        metavar="A,B,...",
        help="the allowed class names; any other label is reported as unknown_label "
        "(remembered for later imports; --classes '' allows any label again)",
    )
    parser.add_argument("--strict", action="store_true", help="exit non-zero on any problem")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="decoding processes (default: all cores)",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=None,
        metavar="N",
        help="larger images are refused as possible decompression bombs (default: 89,478,485; "
        "0: no limit)",
    )
    parser.add_argument("--json", action="store_true", help="print the import report as JSON")
    interop_cli.add_from_options(parser)


def run_import(
    project: Project,
    args: argparse.Namespace,
    *,
    rehash: bool = False,
    extra: dict[str, Any] | None = None,
) -> int:
    foreign = interop_cli.prepare(args, project.image_root, project.import_source().classes)
    source = choose_source(
        project.import_source(),
        manifest=interop_cli.manifest_for(foreign, project, args.manifest),
        folder=getattr(args, "folder", False),
        classes=args.classes,
    )
    report = project.import_images(
        source=source,
        rehash=rehash,
        workers=args.workers,
        max_pixels=args.max_pixels,
        progress=make_progress(),
    )
    votes = interop_cli.finish(project, foreign)
    if args.json:
        problem_paths = [p.describe() for p in report.problems]
        print_json({**report.as_dict(), "problem_paths": problem_paths, **(extra or {}), **votes})
    else:
        if source.manifest is not None:
            print(f"labels from the manifest {for_terminal(source.manifest)}")
        print_report(report)
        interop_cli.print_votes(votes)
    return 1 if args.strict and report.problems else 0


def print_report(report: ImportReport) -> None:
    parts = [f"{report.new} new"]
    for label, n in (
        ("updated", report.updated),
        ("moved", report.moved),
        ("changed (votes marked stale, back to review)", report.changed),
        ("given label changed", report.relabelled),
        ("unchanged", report.unchanged),
        ("missing from disk", report.missing),
        ("back on disk", report.restored),
    ):
        if n:
            parts.append(f"{n} {label}")
    print(
        f"imported {report.total} files: {', '.join(parts)} "
        f"({report.decoded} decoded in {report.seconds:.1f} s, {report.rate:,.0f} images/s)"
    )
    if report.duplicate_groups:
        dups, groups = report.duplicate_images, report.duplicate_groups
        print(f"exact duplicates: {dups} images in {groups} groups")
    if report.skipped_non_images:
        print(f"skipped {report.skipped_non_images} files without an image extension")
    for folder in report.skipped_projects:
        print(f"skipped {for_terminal(folder)}: it holds a labelaudit project, not images")
    if report.problems:
        print(f"{len(report.problems)} problems (kept out of scans and exports):")
        by_reason: dict[str, list[str]] = {}
        for p in report.problems:
            by_reason.setdefault(p.reason, []).append(
                p.path + (f" ({p.detail})" if p.detail else "")
            )
        for reason, paths in sorted(by_reason.items()):
            print(f"  {reason}: {len(paths)} - {REASONS.get(reason, reason)}")
            for path in paths[:MAX_LISTED]:
                print(f"    {for_terminal(path)}")
            if len(paths) > MAX_LISTED:
                print(
                    f"    ... and {len(paths) - MAX_LISTED} more (labelaudit info --json lists all)"
                )
    sys.stdout.flush()


def _run(args: argparse.Namespace) -> int:
    if args.force and args.images is None:
        raise InputError("--force only applies to re-pointing the image root with --images ROOT")
    with open_project(args) as project:
        if args.images is not None:
            check = project.repoint_image_root(args.images, force=args.force)
            if not check.same:
                print(
                    f"warning: re-pointed with --force although {check.describe()}", file=sys.stderr
                )
        return run_import(project, args, rehash=args.rehash)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "import",
        help="re-import the images of an existing project",
        description="Re-import the image root: add new files, notice moved, changed and removed "
        "ones. Votes are never lost: a moved file keeps them, a changed file keeps them marked "
        "stale and goes back to review, a removed file is marked missing. The source and "
        "--classes of the last import are reused unless --manifest or --folder says otherwise.",
    )
    add_project_args(parser)
    add_import_options(parser)
    parser.add_argument(
        "--folder",
        action="store_true",
        help="walk the folder-per-class tree, replacing the manifest this project imported from",
    )
    parser.add_argument(
        "--images",
        type=Path,
        metavar="ROOT",
        help="this machine's copy of the images is now under ROOT; refused unless every image "
        "is there at its stored path and a sample has its stored sha256",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="with --images: re-point even if files are absent or differ (this import then marks "
        "them missing, moved or changed)",
    )
    parser.add_argument(
        "--rehash",
        action="store_true",
        help="read every file again, even if its size and time match",
    )
    parser.set_defaults(func=_run)

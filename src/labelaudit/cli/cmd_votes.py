"""``labelaudit votes import|export``: votes as CSV (the import and the export share columns)."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from labelaudit.cli import interop_cli
from labelaudit.cli.common import add_project_args, for_terminal, open_project
from labelaudit.cli.review_common import add_viewer_arg, emit, hidden_images
from labelaudit.core.consensus.outcome import build_review
from labelaudit.core.consensus.votes_csv import (
    COLUMNS,
    HISTORY_COLUMNS,
    export_rows,
    import_votes,
    write_csv,
)
from labelaudit.core.errors import InputError


def _import(args: argparse.Namespace) -> int:
    if args.format != "csv":
        return interop_cli.import_votes(args)
    if args.file.is_dir():
        raise InputError(f"{args.file} is a folder, not a CSV file")
    if not args.file.is_file():
        raise InputError(f"no such file: {args.file}")
    with open_project(args) as project:
        report = import_votes(project.store, args.file, image_root=project.image_root)
    new = for_terminal(", ".join(report.new_annotators))
    print(
        f"{report.rows} rows: {report.added} votes added, {report.already_stored} already stored"
        + (f"; new annotators: {new}" if new else "")
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        hidden = None
        if args.viewer:
            review = build_review(project.store, with_paths=False)
            hidden = hidden_images(project, review, args.viewer)
        export = export_rows(project.store, hidden_image_ids=hidden, history=args.history)
    buffer = io.StringIO()
    write_csv(export.rows, buffer, HISTORY_COLUMNS if args.history else COLUMNS)
    emit(buffer.getvalue(), args.output)
    if export.bad_times:
        n = len(export.bad_times)
        print(
            f"labelaudit: warning: {n} vote{'s' if n > 1 else ''} "
            f"({', '.join(export.bad_times[:3])}{', ...' if n > 3 else ''}) "
            f"{'have' if n > 1 else 'has'} a stored time that is not a valid time: written "
            "with an empty time",
            file=sys.stderr,
        )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("votes", help="import or export votes as CSV")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    imp = actions.add_parser(
        "import",
        help="import votes from a CSV",
        description="Import votes from a CSV with columns annotator,path,label and optionally "
        "vote_id,note,time,suggestion_shown. label: a class name, keep, drop or unsure. Rows are "
        "applied in file order; every row is checked before anything is written; unknown names "
        "are registered as annotators; importing the same file twice adds nothing.",
    )
    add_project_args(imp)
    imp.add_argument("file", type=Path, metavar="FILE")
    interop_cli.add_votes_options(imp)
    imp.set_defaults(func=_import)
    exp = actions.add_parser(
        "export",
        help="export the current votes as CSV (--history: every vote record)",
        description="Write the current votes (each annotator's latest vote on each image, "
        "neither undone nor stale: the votes info, agreement and consensus count) in the order "
        "they were cast, in the import format.",
    )
    add_project_args(exp)
    exp.add_argument("-o", "--output", type=Path, metavar="FILE.csv", help="default: stdout")
    exp.add_argument(
        "--history",
        action="store_true",
        help="every vote record, replaced, undone and stale ones too, with a status column",
    )
    add_viewer_arg(exp)
    exp.set_defaults(func=_export)

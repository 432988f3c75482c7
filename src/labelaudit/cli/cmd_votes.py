"""``labelaudit votes import|export``: votes as CSV (the import and the export share columns)."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from labelaudit.cli.common import add_project_args, open_project
from labelaudit.cli.review_common import add_viewer_arg, emit, hidden_images
from labelaudit.core.consensus.outcome import build_review
from labelaudit.core.consensus.votes_csv import export_rows, import_votes, write_csv
from labelaudit.core.errors import InputError


def _import(args: argparse.Namespace) -> int:
    if args.file.is_dir():
        raise InputError(f"{args.file} is a folder, not a CSV file")
    if not args.file.is_file():
        raise InputError(f"no such file: {args.file}")
    with open_project(args) as project:
        report = import_votes(project.store, args.file, image_root=project.image_root)
    print(
        f"{report.rows} rows: {report.added} votes added, {report.already_stored} already stored"
        + (f"; new annotators: {', '.join(report.new_annotators)}" if report.new_annotators else "")
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        hidden = None
        if args.viewer:
            review = build_review(project.store, with_paths=False)
            hidden = hidden_images(project, review, args.viewer)
        rows = export_rows(project.store, hidden_image_ids=hidden)
    buffer = io.StringIO()
    write_csv(rows, buffer)
    emit(buffer.getvalue(), args.output)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    imp.set_defaults(func=_import)
    exp = actions.add_parser(
        "export",
        help="export every vote (not retracted, not stale) as CSV",
        description="Write the votes in the order they were cast, in the import format.",
    )
    add_project_args(exp)
    exp.add_argument("-o", "--output", type=Path, metavar="FILE.csv", help="default: stdout")
    add_viewer_arg(exp)
    exp.set_defaults(func=_export)

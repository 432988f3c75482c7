"""``labelaudit report PROJECT -o report.html``: the audit as one shareable HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from labelaudit.cli.common import add_project_args, open_project
from labelaudit.core.consensus.methods import AUTO, METHODS


def _run(args: argparse.Namespace) -> int:
    from labelaudit.core.report.build import check_output, make_report

    check_output(args.output)  # an unwritable output fails before the project is opened
    with open_project(args) as project:
        result = make_report(project, args.output, method=args.method)
    print(f"report: {result.path} ({result.bytes / 1e6:.2f} MB, {result.seconds:.1f} s)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "report",
        help="the audit as one self-contained HTML page to share",
        description="Write one HTML file (no network, no scripts, images inline) that tells the "
        "story of the dataset: the diagnosis in words, charts (class sizes before and after the "
        "latest export, label noise per class, the noise matrix, label quality), the worst "
        "flagged images, near-duplicate conflicts and overlapping classes, the team's review "
        "progress and agreement, what the latest export changed, retrain.py's learning curves "
        "with a verdict, and how to reproduce it all. Needs matplotlib (the 'report' extra).",
    )
    add_project_args(parser)
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help="the HTML file to write"
    )
    parser.add_argument(
        "--method",
        choices=(AUTO, *METHODS),
        default=AUTO,
        help="consensus method for review states",
    )
    parser.set_defaults(func=_run)

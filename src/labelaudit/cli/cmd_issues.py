"""``labelaudit issues PROJECT``: one row per image of the latest scan, flagged first."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from labelaudit.cli.common import add_project_args, for_terminal, open_project, write_atomically
from labelaudit.core.csv_safe import SafeWriter
from labelaudit.core.views.issue_table import ORDERS, IssueTable, issue_table


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _json_value(value: Any) -> Any:
    """Floats rounded as in the CSV (6 significant digits): float32 noise is not information."""
    return float(f"{value:.6g}") if isinstance(value, float) else value


def write_csv(table: IssueTable, out: TextIO) -> None:
    writer = SafeWriter(out, lineterminator="\n")  # no cell runs as a spreadsheet formula
    writer.writerow(table.columns)
    for row in table.rows():
        writer.writerow([_cell(v) for v in row])


def write_json(table: IssueTable, out: TextIO) -> None:
    rows = [
        {name: _json_value(v) for name, v in zip(table.columns, row, strict=True)}
        for row in table.rows()
    ]
    data = {"scan_id": table.scan_id, "stale": table.stale, "rows": rows}
    json.dump(data, out, ensure_ascii=False, indent=1)
    out.write("\n")


def _run(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        table = issue_table(project.store, all_images=args.all, order=args.order)
    if table.stale:
        print(
            f"labelaudit: warning: scan #{table.scan_id} is stale ({'; '.join(table.stale)}); "
            "run 'labelaudit scan' again",
            file=sys.stderr,
        )
    fill = write_json if args.format == "json" else write_csv
    if args.output is not None:
        write_atomically(args.output, lambda fh: fill(table, fh))
        print(f"{len(table)} rows written to {for_terminal(args.output)}", file=sys.stderr)
    else:
        fill(table, sys.stdout)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "issues",
        help="list the images the latest scan flags, worst first",
        description="One row per image of the latest scan: flagged images first (a label issue, "
        "or an issue type the project reviews), in ascending label quality. Without --all, only "
        "images with an issue type (label, near_duplicate, outlier) are listed. Paths are "
        "relative to the image root with '/', labels are class names.",
    )
    add_project_args(parser)
    parser.add_argument("--all", action="store_true", help="every scanned image")
    parser.add_argument(
        "--order",
        choices=ORDERS,
        default="quality",
        help="quality (default): flagged first, worst first; path: sorted by path, the row "
        "order a --pred-probs .npy follows (works before any scan with --all)",
    )
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write to FILE (atomically)"
    )
    parser.set_defaults(func=_run)

"""Helpers shared by the sub-commands: project arguments, opening, output."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from labelaudit.core.project import Project


def add_project_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", type=Path, metavar="PROJECT", help="project folder")
    add_db_arg(parser)


def add_db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL (postgresql://user@host/db) for a shared team store; default: the "
        "project's own SQLite file (also LABELAUDIT_DB)",
    )


def open_project(args: argparse.Namespace) -> Project:
    return Project.open(args.project, db_url=args.db)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")

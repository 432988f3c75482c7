"""``labelaudit config PROJECT [KEY [VALUE]]``: read and set project settings."""

from __future__ import annotations

import argparse
import json
import sys

from labelaudit.cli.common import add_project_args, open_project, print_json
from labelaudit.core.consensus.annotators import list_annotators
from labelaudit.core.consensus.rules import team_warning
from labelaudit.core.project import Project
from labelaudit.core.settings import SETTINGS


def _run(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        if args.key is None:
            values = project.settings()
            if args.json:
                print_json(values)
            else:
                for key, value in values.items():
                    print(f"{key} = {json.dumps(value)}    # {SETTINGS[key].help}")
                _warn_team(project)
            return 0
        if args.value is None:
            value = project.settings().get(args.key)
            if args.key not in SETTINGS:
                project.set_setting(args.key, "")  # raises the one-line unknown-setting error
            print(json.dumps(value))
            return 0
        value = project.set_setting(args.key, args.value)
        print(f"{args.key} = {json.dumps(value)}")
        if args.key == "votes_required":
            _warn_team(project)
    return 0


def _warn_team(project: Project) -> None:
    """Say so when votes_required exceeds the team (``rules.team_warning``)."""
    required = int(project.settings()["votes_required"])
    warning = team_warning(required, list_annotators(project.store))
    if warning:
        print(f"labelaudit: note: {warning}", file=sys.stderr)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = ", ".join(SETTINGS)
    parser = sub.add_parser(
        "config",
        help="read or change project settings",
        description=f"Read or change a project setting. Settings: {keys}.",
    )
    add_project_args(parser)
    parser.add_argument("key", nargs="?", metavar="KEY")
    parser.add_argument("value", nargs="?", metavar="VALUE")
    parser.add_argument("--json", action="store_true", help="print all settings as JSON")
    parser.set_defaults(func=_run)

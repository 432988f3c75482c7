"""``labelaudit config PROJECT [KEY [VALUE]]``: read and set project settings."""

from __future__ import annotations

import argparse
import json

from labelaudit.cli.common import add_project_args, open_project, print_json
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
            return 0
        if args.value is None:
            value = project.settings().get(args.key)
            if args.key not in SETTINGS:
                project.set_setting(args.key, "")  # raises the one-line unknown-setting error
            print(json.dumps(value))
            return 0
        value = project.set_setting(args.key, args.value)
        print(f"{args.key} = {json.dumps(value)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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

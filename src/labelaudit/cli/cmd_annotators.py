"""``labelaudit annotators add|list``: the annotator registry (roles: annotator, lead).

Roles are a workflow guard, not security: there is no login. The audit log records the OS user and
host with every action.
"""

from __future__ import annotations

import argparse
import sys

from labelaudit.cli.common import add_project_args, for_terminal, open_project, print_json
from labelaudit.core.consensus.annotators import ROLES, add_annotator, list_annotators
from labelaudit.core.consensus.rules import team_warning


def _add(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        who = add_annotator(project.store, args.name, role=args.role)
        warning = team_warning(
            int(project.settings()["votes_required"]), list_annotators(project.store)
        )
    print(f"{for_terminal(who.name)} ({who.role})")
    if warning:
        print(f"labelaudit: note: {warning}", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        people = list_annotators(project.store)
    if args.json:
        print_json([{"name": a.name, "role": a.role} for a in people])
    else:
        for a in people:
            print(f"{for_terminal(a.name)}\t{a.role}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "annotators",
        help="register annotators and leads, list them",
        description="Register annotators and leads. Roles are a workflow guard, not security.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    add = actions.add_parser("add", help="register a name (or change its role)")
    add_project_args(add)
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "--role",
        default="annotator",
        metavar="ROLE",
        help=f"{' or '.join(ROLES)} (default annotator)",
    )
    add.set_defaults(func=_add)
    show = actions.add_parser("list", help="list annotators and their roles")
    add_project_args(show)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_list)

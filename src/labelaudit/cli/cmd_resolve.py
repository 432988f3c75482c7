"""``labelaudit resolve PROJECT --lead NAME PATH DECISION``: a lead's final decision."""

from __future__ import annotations

import argparse

from labelaudit.cli.common import add_project_args, for_terminal, open_project
from labelaudit.core.commands import ResolveCommand
from labelaudit.core.consensus.image_refs import image_for_path


def _run(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        image = image_for_path(project.store, project.image_root, args.path)
        command = ResolveCommand(
            project.store,
            lead=args.lead,
            image_id=image.id,
            decision=args.decision,
            note=args.note,
        )
        command.do()
        record = command.record
    assert record is not None
    what = record.class_name if record.kind == "label" else "drop"
    extra = f", superseding {record.supersedes}" if record.supersedes else ""
    who, where = for_terminal(record.lead), for_terminal(record.path)
    print(f"{who} resolved {where} as {for_terminal(what)} (decision {record.decision_id}{extra})")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "resolve",
        help="a lead's final decision on an image",
        description="Record a lead's final decision (keep, a class, or drop). Only registered "
        "leads can resolve; a lead may supersede an earlier decision (the history is kept).",
    )
    add_project_args(parser)
    parser.add_argument("--lead", required=True, metavar="NAME", help="a registered lead")
    parser.add_argument("path", metavar="PATH", help="image path, relative to the image root")
    parser.add_argument(
        "decision", metavar="DECISION", help="keep, a class name, or drop (class:NAME: see vote)"
    )
    parser.add_argument("--note", metavar="TEXT", help="why (stored with the decision)")
    parser.set_defaults(func=_run)

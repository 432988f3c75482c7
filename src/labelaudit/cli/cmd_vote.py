"""``labelaudit vote PROJECT --annotator NAME PATH DECISION``: cast one vote."""

from __future__ import annotations

import argparse
import sys

from labelaudit.cli.common import add_project_args, for_terminal, open_project
from labelaudit.core.commands import VoteCommand
from labelaudit.core.consensus.image_refs import image_for_path
from labelaudit.core.consensus.resolution import current_decision

DECISION_HELP = (
    "a class name (the given class means keep), keep, drop or unsure; class:NAME for a class "
    "literally named keep, drop or unsure"
)


def _run(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        image = image_for_path(project.store, project.image_root, args.path)
        # The CLI shows the model's suggestion (queue) exactly when the setting says so.
        shown = bool(project.settings()["show_suggestion"])
        command = VoteCommand(
            project.store,
            annotator=args.annotator,
            image_id=image.id,
            decision=args.decision,
            note=args.note,
            suggestion_shown=shown,
        )
        command.do()
        record = command.record
        decided = current_decision(project.store, image.id)
    assert record is not None
    what = f"keep ({record.class_name})" if record.is_keep else record.class_name or record.kind
    who, where = for_terminal(record.annotator), for_terminal(record.path)
    print(f"{who} voted {for_terminal(what)} on {where} (vote {record.vote_id})")
    if decided is not None:  # the lead's decision is final: say so rather than refuse the vote
        print(
            f"labelaudit: note: a lead already decided this image ({for_terminal(decided)}); "
            "your vote is kept "
            "but changes nothing",
            file=sys.stderr,
        )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "vote",
        help="vote on one image: keep, a class, drop or unsure",
        description="Cast a vote. Voting again replaces your current vote; the history is kept.",
    )
    add_project_args(parser)
    parser.add_argument("--annotator", required=True, metavar="NAME", help="who votes")
    parser.add_argument("path", metavar="PATH", help="image path, relative to the image root")
    parser.add_argument("decision", metavar="DECISION", help=DECISION_HELP)
    parser.add_argument("--note", metavar="TEXT", help="a note stored with the vote")
    parser.set_defaults(func=_run)

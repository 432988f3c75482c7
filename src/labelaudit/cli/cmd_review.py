"""``labelaudit review add PROJECT PATH... --lead NAME``: a lead puts images into review."""

from __future__ import annotations

import argparse

from labelaudit.cli.common import add_project_args, open_project
from labelaudit.core.consensus.image_refs import image_for_path
from labelaudit.core.consensus.review_add import add_to_review


def _add(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        ids = [image_for_path(project.store, project.image_root, p).id for p in args.paths]
        added = add_to_review(project.store, ids, lead=args.lead)
    print(f"{len(added)} images put into review ({len(set(ids)) - len(added)} already were)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("review", help="put images into review by hand")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    add = actions.add_parser(
        "add",
        help="images that need votes even though the scan did not flag them",
        description="Put images into review (leads only); every path is checked before anything "
        "is written.",
    )
    add_project_args(add)
    add.add_argument("paths", nargs="+", metavar="PATH", help="relative to the image root")
    add.add_argument(
        "--lead", required=True, metavar="NAME", help="the lead asking (a registered lead; logged)"
    )
    add.set_defaults(func=_add)

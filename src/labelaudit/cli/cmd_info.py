"""``labelaudit info PROJECT``: images per class, problems by reason, scans, votes."""

from __future__ import annotations

import argparse

from labelaudit.cli.common import add_project_args, open_project, print_json
from labelaudit.core.info import project_info
from labelaudit.core.project import Project

MAX_LISTED = 10


def _run(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        print_info(project, as_json=args.json)
    return 0


def print_info(project: Project, *, as_json: bool = False) -> None:
    info = project_info(project.store)
    info["project"] = str(project.folder)
    info["image_root"] = str(project.image_root)
    if as_json:
        print_json(info)
        return
    print(f"project     {info['project']}")
    print(f"images in   {info['image_root']}")
    print(f"database    {info['database']}")
    totals = info["images"]
    print(
        f"images      {totals['ok']} valid, {totals['broken']} broken, {totals['missing']} missing"
    )
    print(f"classes     {len([c for c in info['classes'] if c != '(no label)'])}")
    width = max((len(c) for c in info["classes"]), default=5)
    for name, counts in info["classes"].items():
        extra = "".join(f", {counts[k]} {k}" for k in ("broken", "missing") if counts.get(k))
        print(f"  {name:<{width}}  {counts['ok']:>7}{extra}")
    dups = info["duplicates"]
    if dups["groups"]:
        print(f"duplicates  {dups['images']} images in {dups['groups']} exact-duplicate groups")
    if info["problems"]:
        print("problems (latest import)")
        for reason, entry in info["problems"].items():
            print(f"  {reason}: {entry['count']} - {entry['description']}")
            for path in entry["paths"][:MAX_LISTED]:
                print(f"    {path}")
            if entry["count"] > MAX_LISTED:
                print(f"    ... and {entry['count'] - MAX_LISTED} more (--json lists all)")
    print(f"scans       {len(info['scans'])}")
    for scan in info["scans"]:
        print(
            f"  #{scan['id']} {scan['status']} {scan['kind']} {scan['model'] or ''} "
            f"({scan['n_images']} images)"
            + (f" STALE: {'; '.join(scan['stale'])}" if scan.get("stale") else "")
        )
    print(f"votes       {info['votes']} by {len(info['annotators'])} annotators")
    for a in info["annotators"]:
        print(f"  {a['name']} ({a['role']}): {a['votes']}")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("info", help="show what a project holds")
    add_project_args(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output, every path")
    parser.set_defaults(func=_run)

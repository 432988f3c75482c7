"""``labelaudit info PROJECT``: images per class, problems by reason, scans, votes."""

from __future__ import annotations

import argparse
import time
from typing import Any

from labelaudit.cli.common import add_project_args, for_terminal_data, open_project, print_json
from labelaudit.core.project import Project
from labelaudit.core.views.project_info import project_info

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
    info = for_terminal_data(info)  # names and paths cannot act on the terminal
    print(f"project     {info['project']}")
    print(f"images in   {info['image_root']}")
    print(f"database    {info['database']}")
    totals = info["images"]
    print(
        f"images      {totals['ok']} valid, {totals['broken']} broken, {totals['missing']} missing"
        + (f", {totals['unlabelled']} unlabelled" if totals["unlabelled"] else "")
    )
    print(f"classes     {len([c for c in info['classes'] if c != '(no label)'])}")
    width = max((len(c) for c in info["classes"]), default=5)
    for name, counts in info["classes"].items():
        extra = "".join(f", {counts[k]} {k}" for k in ("broken", "missing") if counts.get(k))
        print(f"  {name:<{width}}  {counts['ok']:>7}{extra}")
    _print_unfinished(info["unfinished_imports"])
    _print_unlabelled(info["unlabelled"])
    _print_duplicates(info)
    _print_missing(info["missing_paths"])
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
    # Current votes (what consensus, agreement, votes export and the app count); the records
    # add replaced, undone and stale votes (votes export --history).
    print(
        f"votes       {info['votes']} current by {len(info['annotators'])} annotators"
        + (f" ({info['votes_unsure']} unsure)" if info["votes_unsure"] else "")
    )
    print(f"vote records {info['vote_records']} (with replaced, undone and stale votes)")
    for a in info["annotators"]:
        print(f"  {a['name']} ({a['role']}): {a['votes']} current, {a['vote_records']} records")


def _print_unfinished(unfinished: list[dict[str, Any]]) -> None:
    for entry in unfinished:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry["started_at"]))
        who = f"pid {entry['pid']} on {entry['host']}" if entry["pid"] else "an older version"
        if entry["status"] == "running":
            print(f"import      #{entry['id']} running since {started} ({who})")
        else:
            print(
                f"import      #{entry['id']} INTERRUPTED (started {started}, {who}): its files "
                "are not in the project; run `labelaudit import` again"
            )


def _print_unlabelled(unlabelled: dict[str, Any]) -> None:
    """Images kept out of scans and exports because of their label, not a broken file."""
    if not unlabelled:
        return
    total = sum(entry["count"] for entry in unlabelled.values())
    print(f"unlabelled  {total} images without a usable label (kept out of scans and exports)")
    for reason, entry in unlabelled.items():
        labels = ", ".join(
            f"{label} {n}" for label, n in list(entry["labels"].items())[:MAX_LISTED]
        )
        more = (
            f", ... {len(entry['labels']) - MAX_LISTED} more"
            if len(entry["labels"]) > MAX_LISTED
            else ""
        )
        print(
            f"  {reason}: {entry['count']} - {entry['description']}"
            + (f": {labels}{more}" if labels else "")
        )


def _print_duplicates(info: dict[str, Any]) -> None:
    dups, groups = info["duplicates"], info["duplicate_groups"]
    if not dups["groups"]:
        return
    conflicts = sum(g["labels_conflict"] for g in groups)
    print(
        f"duplicates  {dups['images']} images in {dups['groups']} exact-duplicate groups, "
        f"{conflicts} with conflicting labels"
    )
    for group in groups[:MAX_LISTED]:
        members = " = ".join(
            f"{path} ({label if label is not None else 'no label'})"
            for path, label in zip(group["paths"], group["labels"], strict=True)
        )
        print(f"    {members}" + ("  CONFLICT" if group["labels_conflict"] else ""))
    if len(groups) > MAX_LISTED:
        print(f"    ... and {len(groups) - MAX_LISTED} more groups (--json lists all)")


def _print_missing(paths: list[str]) -> None:
    if not paths:
        return
    print(f"missing     {len(paths)} files no longer on disk (votes kept)")
    for path in paths[:MAX_LISTED]:
        print(f"    {path}")
    if len(paths) > MAX_LISTED:
        print(f"    ... and {len(paths) - MAX_LISTED} more (--json lists all)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("info", help="show what a project holds")
    add_project_args(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output, every path")
    parser.set_defaults(func=_run)

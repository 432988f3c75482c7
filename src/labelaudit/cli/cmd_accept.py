"""``labelaudit accept PROJECT --lead NAME (PATH... | --all)``: the app's Accept (A) on the CLI.

The images, their proposals and the decisions come from the same code as the app's A key: the
grid's data (``core/views/load.py``), ``accept_list`` (``core/views/lead_queue.py``) and one
``AcceptCommand`` (``core/commands.py``), so the CLI records what the app would for the same data.
Every named image is checked before anything is written; the decisions go in one transaction.
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from typing import Any

import numpy as np

from labelaudit.cli.common import add_project_args, for_terminal, open_project, print_json
from labelaudit.core.commands import AcceptCommand
from labelaudit.core.consensus.annotators import require_lead
from labelaudit.core.consensus.decisions import Decision
from labelaudit.core.consensus.image_refs import image_for_path
from labelaudit.core.errors import InputError
from labelaudit.core.issues_types import STATES
from labelaudit.core.project import Project
from labelaudit.core.views import STATE_CODE, ReviewData, load_review_data
from labelaudit.core.views.lead_queue import accept_confidence, accept_list

Pick = tuple[int, Decision, str]  # (image id, decision, origin), as AcceptCommand takes them


def _check_args(args: argparse.Namespace) -> None:
    if bool(args.paths) == bool(args.all):
        which = "both" if args.paths else "neither"
        raise InputError(f"name the images (PATH ...) or give --all, not {which}")
    p = args.min_confidence
    if p is not None and not args.all:
        raise InputError("--min-confidence goes with --all (named images are accepted as named)")
    if p is not None and not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise InputError(f"--min-confidence must be a probability in [0, 1], got {p}")


def _named_rows(project: Project, data: ReviewData, paths: list[str]) -> list[int]:
    """Grid rows of the named images, each once, in the order named; InputError for a path
    that is no image of the project."""
    ids = [image_for_path(project.store, project.image_root, text).id for text in paths]
    rows = data.row_of(np.asarray(list(dict.fromkeys(ids)), dtype=np.int64))
    return [int(r) for r in rows]


def _refuse_unacceptable(data: ReviewData, rows: list[int], picks: list[Pick]) -> None:
    """InputError naming the first named image that Accept would skip (and how many more)."""
    have = {i for i, _, _ in picks}
    bad = [r for r in rows if int(data.image_ids[r]) not in have]
    if not bad:
        return
    r = bad[0]
    state = STATES[int(data.state[r])]
    why = (
        "has nothing to accept (no consensus, no method's or model's pick; decide it with "
        "'labelaudit resolve')"
        if state == "needs_lead"
        else f"does not wait for the lead (state: {state})"
    )
    more = f"; and {len(bad) - 1} more" if len(bad) > 1 else ""
    raise InputError(f"{data.path(r)} {why}{more}; nothing was decided")


def _select(
    project: Project, data: ReviewData, args: argparse.Namespace
) -> tuple[list[Pick], dict[str, int]]:
    """The picks to record and, for --all, how many waiting images were left out and why."""
    if args.paths:
        rows = _named_rows(project, data, args.paths)
        picks = accept_list(data, rows)
        _refuse_unacceptable(data, rows, picks)
        return picks, {}
    waiting = [int(r) for r in np.flatnonzero(data.state == STATE_CODE["needs_lead"])]
    picks = accept_list(data, waiting)
    skipped = {"no_proposal": len(waiting) - len(picks)}
    if args.min_confidence is not None:
        sure = accept_confidence(data)
        at = data.row_of(np.asarray([i for i, _, _ in picks], dtype=np.int64))
        keep = [bool(sure[r] >= args.min_confidence) for r in at]  # nan: no estimate, left out
        skipped["below_min_confidence"] = keep.count(False)
        picks = [p for p, ok in zip(picks, keep, strict=True) if ok]
    return picks, skipped


def _listing(data: ReviewData, picks: list[Pick]) -> list[dict[str, Any]]:
    sure = accept_confidence(data)
    rows = data.row_of(np.asarray([i for i, _, _ in picks], dtype=np.int64))
    out = []
    for r, (_, decision, origin) in zip(rows, picks, strict=True):
        p = float(sure[r])
        out.append(
            {
                "path": data.path(int(r)),
                "decision": str(decision),
                "source": origin,
                "confidence": None if math.isnan(p) else round(p, 4),
            }
        )
    return out


_SKIPPED = {
    "no_proposal": "waiting without a proposal",
    "below_min_confidence": "below --min-confidence",
}


def _skipped_text(skipped: dict[str, int]) -> str:
    return "; ".join(f"{n} {_SKIPPED[k]} skipped" for k, n in skipped.items() if n)


def _summary(lead: str, count: int, by_source: Counter[str], args: argparse.Namespace) -> str:
    verb = "would decide" if args.dry_run else "decided"
    parts = ", ".join(f"{n} {for_terminal(source)}" for source, n in by_source.most_common())
    return f"{for_terminal(lead)} {verb} {count} images ({parts})"


def _run(args: argparse.Namespace) -> int:
    _check_args(args)
    with open_project(args) as project:
        with project.store.read() as conn:
            lead = require_lead(conn, args.lead)
        data = load_review_data(project.store, annotator_id=lead.id)
        picks, skipped = _select(project, data, args)
        if picks and not args.dry_run:
            AcceptCommand(project.store, lead=lead.name, picks=picks).do()  # one transaction
    images = _listing(data, picks)
    by_source = Counter(row["source"] for row in images)
    if args.json:
        print_json(
            {
                "lead": lead.name,
                "dry_run": bool(args.dry_run),
                "decided": 0 if args.dry_run else len(images),
                "by_source": dict(by_source),
                "skipped": skipped,
                "images": images,
            }
        )
        return 0
    if args.dry_run:
        for row in images:
            confidence = "-" if row["confidence"] is None else f"{row['confidence']:.4f}"
            print(
                f"{for_terminal(row['path'])}\t{for_terminal(row['decision'])}\t"
                f"{for_terminal(row['source'])}\t{confidence}"
            )
    left = _skipped_text(skipped)
    if images:
        print(_summary(lead.name, len(images), by_source, args) + (f"; {left}" if left else ""))
    else:
        print(f"nothing to accept: {left or 'no image waits for the lead with a proposal'}")
    return 0


class _PathsAfterOptions(argparse.ArgumentParser):
    """Python 3.11's argparse gives a ``*`` positional nothing when an option comes between it
    and the positional before it (``accept PROJECT --lead NAME PATH``) and leaves the PATHs
    over as unrecognized: take them as PATHs (options still left over stay errors)."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = super().parse_known_args(args, namespace)
        if getattr(parsed, "paths", None) is None:
            return parsed, extras
        cut = extras.index("--") if "--" in extras else len(extras)  # "--": paths from here
        before, after = extras[:cut], extras[cut + 1 :]
        parsed.paths = [*parsed.paths, *(a for a in before if not a.startswith("-")), *after]
        return parsed, [a for a in before if a.startswith("-")]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    usual = sub._parser_class  # add_parser makes every sub-command's parser of this class
    sub._parser_class = _PathsAfterOptions
    try:
        _add_parser(sub)
    finally:
        sub._parser_class = usual


def _add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "accept",
        help="a lead accepts the proposed decisions (the app's Accept, A)",
        description="Record, as NAME's final decisions, the proposals for images waiting for the "
        "lead, exactly as the app's Accept (A): the consensus, else the consensus method's pick, "
        "else the model's suggestion; the evidence's most likely class where it rates that pick "
        "probably wrong. Each decision's note says where it came from ('accepted consensus "
        "(crowdlab)'). Named images must all wait for the lead and have a proposal, else one "
        "error line and nothing is decided. All decisions go in one transaction.",
    )
    add_project_args(parser)
    parser.add_argument("--lead", required=True, metavar="NAME", help="a registered lead")
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="images, relative to the image root"
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="every image waiting for the lead that has a proposal (the others are counted)",
    )
    parser.add_argument(
        "--min-confidence",
        type=float,
        metavar="P",
        help="with --all: only proposals whose estimated probability of being right is at "
        "least P (those without an estimate are left out)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be decided (path, decision, source, confidence); write nothing",
    )
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=_run)

"""``labelaudit queue PROJECT --annotator NAME``: what to review next."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

import numpy as np

from labelaudit.cli.common import add_project_args, for_terminal, open_project, print_json
from labelaudit.cli.review_common import class_label, fmt
from labelaudit.core.codes import VoteKind
from labelaudit.core.consensus.annotators import get_annotator, require_lead
from labelaudit.core.consensus.methods import AUTO, METHODS
from labelaudit.core.consensus.outcome import build_review
from labelaudit.core.consensus.states import Review, annotator_queue, lead_queue
from labelaudit.core.errors import InputError
from labelaudit.core.views.lead_queue import split_text


def _queue_rows(review: Review, ids: np.ndarray, *, suggest: bool) -> list[dict[str, Any]]:
    pos, _ = review.data.image_index(ids)
    names = review.data.catalog.class_names
    paths = review.data.catalog.paths or []
    required = review.required  # votes_required capped to the team (rules.votes_needed)
    rows = []
    for i in pos:
        row: dict[str, Any] = {
            "path": paths[i],
            "given_label": class_label(int(review.data.catalog.labels[i]), names),
            "label_quality": fmt(float(review.data.label_quality[i])),
            "votes": f"{int(review.result.n_votes[i])} of {required}",
            "reason": str(review.lead_reason[i]),
        }
        if suggest:
            row["suggested_label"] = class_label(int(review.data.suggested[i]), names)
        rows.append(row)
    return rows


def _disagreement_rows(review: Review, ids: np.ndarray) -> list[dict[str, Any]]:
    """The lead's queue: every vote, who cast it and that annotator's quality."""
    pos, _ = review.data.image_index(ids)
    names = review.data.catalog.class_names
    paths = review.data.catalog.paths or []
    v = review.data.votes
    people = {a.id: (j, a.name) for j, a in enumerate(review.data.annotators)}
    rows = []
    for i, image_id in zip(pos, ids, strict=True):
        mine = np.flatnonzero(v.image_ids == image_id)
        shown = []
        for j in mine:
            col, name = people[int(v.annotator_ids[j])]
            kind = VoteKind(int(v.kind[j]))
            label = class_label(int(v.labels[j]), names) if kind == VoteKind.LABEL else kind.label
            quality = fmt(float(review.result.annotator_quality[col]), 2)
            shown.append({"annotator": name, "vote": label, "annotator_quality": quality})
        rows.append(
            {
                "path": paths[i],
                "given_label": class_label(int(review.data.catalog.labels[i]), names),
                "consensus_label": class_label(int(review.result.decision[i]), names),
                "consensus_quality": fmt(float(review.result.quality[i])),
                "reason": str(review.lead_reason[i]),
                "p_right": fmt(float(review.p_right[i])),
                "split": split_text(
                    list(Counter(x["vote"] for x in shown if x["vote"] != "unsure").values())
                ),
                "model_label": class_label(int(review.data.suggested[i]), names),
                "votes": shown,
            }
        )
    return rows


def _run(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise InputError(f"--limit must be 0 or more, got {args.limit}")
    with open_project(args) as project:
        if args.disagreements:
            with project.store.read() as conn:
                require_lead(conn, args.annotator)
        who = get_annotator(project.store, args.annotator)
        review = build_review(project.store, method=args.method)
        suggest = bool(review.data.settings["show_suggestion"])
    if args.disagreements:
        ids = lead_queue(review)
        rows = _disagreement_rows(review, ids[: args.limit])
    else:
        ids = annotator_queue(review, who.id)
        rows = _queue_rows(review, ids[: args.limit], suggest=suggest)
    if args.json:
        print_json({"annotator": who.name, "remaining": int(ids.size), "images": rows})
        return 0
    name = for_terminal(who.name)
    what = "waiting for a lead" if args.disagreements else f"waiting for {name}'s vote"
    print(f"{ids.size} images {what}" + (f"; the first {len(rows)}:" if rows else ""))
    for row in rows:
        _print_row(row)
    return 0


def _print_row(row: dict[str, Any]) -> None:
    """One line per image, names and paths escaped for the terminal."""
    shown = {k: v if k == "votes" else for_terminal(v) for k, v in row.items()}
    votes = shown["votes"]
    if isinstance(votes, list):
        cast = ", ".join(
            f"{for_terminal(x['annotator'])} ({x['annotator_quality']}): {for_terminal(x['vote'])}"
            for x in votes
        )
        print(
            f"{shown['path']}\tgiven {shown['given_label']}\tconsensus "
            f"{shown['consensus_label']} ({shown['consensus_quality']}, p_right "
            f"{shown['p_right'] or '-'})\tmodel {shown['model_label'] or '-'}\t"
            f"{shown['reason']}\tsplit {shown['split']}: {cast}"
        )
    else:
        extra = f"\tsuggested {shown['suggested_label']}" if "suggested_label" in shown else ""
        print(
            f"{shown['path']}\tgiven {shown['given_label']}{extra}\tquality "
            f"{shown['label_quality'] or '-'}\tvotes {votes}"
            + (f"\t{shown['reason']}" if shown["reason"] else "")
        )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "queue",
        help="the images an annotator should review next (or a lead's disagreements)",
        description="List the images that still need votes and that NAME has not voted on: those "
        "asking one more vote first (least certain first), then the rest, most doubtful first. "
        "With --disagreements (leads only): the images waiting for a lead, most likely wrong "
        "first (lowest p_right), with why (tie, below target accuracy, no annotator left, drop "
        "vs relabel, or an override: low agreement, low consensus quality), every vote, who cast "
        "it and that annotator's quality.",
    )
    add_project_args(parser)
    parser.add_argument("--annotator", required=True, metavar="NAME")
    parser.add_argument("--disagreements", action="store_true", help="the lead's queue")
    parser.add_argument(
        "--method",
        default=AUTO,
        metavar="METHOD",
        help=f"{', '.join((AUTO, *METHODS))} (default auto: crowdlab with a scan, else "
        "dawid-skene or majority)",
    )
    parser.add_argument("--limit", type=int, default=20, metavar="N", help="show N (default 20)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=_run)

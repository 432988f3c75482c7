"""``labelaudit consensus PROJECT``: the consensus of every image in review, stored as a run."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from labelaudit.cli.common import add_project_args, check_output, for_terminal, open_project
from labelaudit.cli.review_common import (
    add_viewer_arg,
    class_label,
    csv_cell,
    emit,
    fmt,
    hidden_images,
)
from labelaudit.core.consensus.annotators import get_annotator
from labelaudit.core.consensus.methods import AUTO, METHODS
from labelaudit.core.consensus.outcome import run_consensus
from labelaudit.core.consensus.states import Review
from labelaudit.core.csv_safe import SafeDictWriter

COLUMNS = (
    "path",
    "given_label",
    "consensus_label",
    "consensus_quality",
    "n_votes",
    "agreement",
    "needs_lead",
    "lead_reason",
    "state",
    "final_label",
    "source",
    "method_label",
    "p_right",
    "method",
)


def consensus_rows(review: Review, outcomes: Any, hidden: np.ndarray) -> list[dict[str, Any]]:
    """One row per image in review (or with votes), hidden images left out."""
    names = review.data.catalog.class_names
    paths = review.data.catalog.paths or []
    show = (review.in_review | (review.result.n_votes > 0)) & ~np.isin(review.image_ids, hidden)
    rows = []
    for i in np.flatnonzero(show):
        given = int(review.data.catalog.labels[i])
        final = "drop" if outcomes.dropped[i] else class_label(int(outcomes.final_class[i]), names)
        rows.append(
            {
                "path": paths[i],
                "given_label": names[given] if given >= 0 else "",
                "consensus_label": class_label(int(review.result.decision[i]), names),
                "consensus_quality": fmt(float(review.result.quality[i])),
                "n_votes": int(review.result.n_votes[i]),
                "agreement": fmt(float(outcomes.agreement[i])),
                "needs_lead": bool(outcomes.needs_lead[i]),
                "lead_reason": str(review.lead_reason[i]),
                "state": str(review.state[i]),
                "final_label": final,
                "source": str(outcomes.source[i]),
                "method_label": class_label(int(review.result.method_label[i]), names),
                "p_right": fmt(float(review.p_right[i])),
                "method": review.result.method,
            }
        )
    return rows


def calibration_line(summary: dict[str, Any]) -> str:
    """What the consensus settled and how many of those it expects wrong (``evidence``)."""
    method, target = summary["method"], float(summary["target_accuracy"])
    if not summary["settled"]:
        return f"{method}: nothing settled by the consensus (target accuracy {target:.1%})"
    line = (
        f"{method}: settled {summary['settled']} images at an expected accuracy of "
        f"{summary['expected_accuracy']:.2%}: about {summary['expected_wrong']:.1f} expected wrong "
        f"(target accuracy {target:.1%})"
    )
    if summary["lead_checked"]:
        line += (
            f"; on the {summary['lead_checked']} voted images a lead decided, the estimate "
            f"expected {summary['lead_expected_accuracy']:.1%} and the leads agreed with "
            f"{summary['lead_measured_accuracy']:.1%}"
        )
    return line


def _run(args: argparse.Namespace) -> int:
    check_output(args.output)  # before the run is stored
    with open_project(args) as project:
        if args.viewer:
            get_annotator(project.store, args.viewer)  # an unknown name fails before any write
        run = run_consensus(project.store, method=args.method, actor=args.viewer)
        hidden = hidden_images(project, run.review, args.viewer)
    rows = consensus_rows(run.review, run.outcomes, hidden)
    for note in run.summary["notes"]:
        print(f"labelaudit: note: {for_terminal(note)}", file=sys.stderr)
    print(f"labelaudit: {calibration_line(run.summary)}", file=sys.stderr)
    if args.format == "json":
        text = json.dumps(
            {"run": run.run_id, **run.summary, "images": rows}, indent=2, ensure_ascii=False
        )
        emit(text + "\n", args.output)
        return 0
    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    emit(buffer.getvalue(), args.output)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "consensus",
        help="compute the consensus of the votes (auto, majority, crowdlab, dawid-skene)",
        description="Compute the consensus of every image in review, store it as a run and print "
        "it. The default method (auto) is crowdlab when the project has a scan, else "
        "dawid-skene once annotators overlap on 20 images, else majority. An image is settled "
        "when p_right, the estimated probability that its consensus label is right, reaches the "
        "target_accuracy setting; else it asks one more vote (lead_reason 'one more vote') while "
        "an annotator has not voted on it; else it goes to the lead (needs_lead, with the "
        "reason). A tie the evidence cannot settle has an empty consensus_label; method_label "
        "shows the method's own pick. crowdlab uses the latest scan's out-of-sample pred_probs "
        "and falls back to majority (with a note) when no image has two or more class votes. "
        "Prints on stderr the expected accuracy of the settled images and how many it expects "
        "wrong.",
    )
    add_project_args(parser)
    parser.add_argument(
        "--method",
        default=AUTO,
        metavar="METHOD",
        help=f"{', '.join((AUTO, *METHODS))} (default auto); an unknown name is one error line",
    )
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    add_viewer_arg(parser)
    parser.set_defaults(func=_run)

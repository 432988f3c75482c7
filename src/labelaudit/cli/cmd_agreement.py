"""``labelaudit agreement PROJECT``: inter-annotator agreement, per project and per class."""

from __future__ import annotations

import argparse
from typing import Any

from labelaudit.cli.common import add_project_args, for_terminal, open_project, print_json
from labelaudit.core.consensus.methods import AUTO, METHODS
from labelaudit.core.consensus.outcome import build_review, review_agreement


def _show(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _print_report(report: dict[str, Any]) -> None:
    p = report["project"]
    unsure = f" ({p['votes_unsure']} unsure, left out below)" if p.get("votes_unsure") else ""
    print(f"votes {p['votes']} current{unsure}, images with 2+ votes {p['items_with_2plus_votes']}")
    print(f"Krippendorff's alpha (nominal)  {_show(p['krippendorff_alpha'])}")
    print(
        f"Fleiss' kappa                   {_show(p['fleiss_kappa'])}  "
        f"({p['fleiss_items']} images with {p['fleiss_ratings_per_item']} votes each)"
    )
    print("per class (this class vs the rest)      alpha   kappa")
    for name, s in report["per_class"].items():
        alpha, kappa = _show(s["krippendorff_alpha"]), _show(s["fleiss_kappa"])
        print(f"  {for_terminal(name):<36} {alpha:>7} {kappa:>7}")
    print(f"annotators ({report['method']})            votes  agree  quality")
    for a in report["annotators"]:
        print(
            f"  {for_terminal(a['name']):<30} {a['votes']:>7} "
            f"{_show(a['agreement_with_consensus']):>6} {_show(a['quality']):>8}"
        )
    names = report["cohen_kappa"]["annotators"]
    if len(names) >= 2:
        print("Cohen's kappa (shared images)")
        for i, name in enumerate(names):
            cells = [
                f"{_show(k)}({n})"
                for k, n in zip(
                    report["cohen_kappa"]["kappa"][i],
                    report["cohen_kappa"]["shared_items"][i],
                    strict=True,
                )
            ]
            print(f"  {for_terminal(name):<20} " + " ".join(f"{c:>12}" for c in cells))


def _run(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        review = build_review(project.store, method=args.method, with_paths=False)
    _, report = review_agreement(review)
    if args.json:
        print_json(report)
    else:
        _print_report(report)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "agreement",
        help="inter-annotator agreement (Krippendorff's alpha, Fleiss' and Cohen's kappa)",
        description="Agreement over the current votes (classes and drop; unsure abstains), per "
        "project and per class: Krippendorff's nominal alpha (the headline), Fleiss' kappa on the "
        "images with the most common number of votes, pairwise Cohen's kappa, and each "
        "annotator's agreement with the consensus and quality score.",
    )
    add_project_args(parser)
    parser.add_argument("--method", choices=(AUTO, *METHODS), default=AUTO)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=_run)

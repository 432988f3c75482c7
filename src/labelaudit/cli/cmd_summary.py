"""``labelaudit summary PROJECT``: what the latest scan found, in plain words, and what to do."""

from __future__ import annotations

import argparse
import shlex
import textwrap
import time
from typing import Any

from labelaudit.cli.common import (
    add_project_args,
    for_terminal,
    for_terminal_data,
    open_project,
    print_json,
)
from labelaudit.core.project import Project
from labelaudit.core.views.findings import scan_report

WIDTH = 100


def _describe_scan(report: dict[str, Any]) -> str:
    config = report["config"]
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(report["created_at"]))
    if report["kind"] == "pred_probs":
        how = f"your own predictions ({config.get('pred_probs')})"
    else:
        probe = " linear probe" if config.get("linear_probe") else ""
        how = f"{config.get('folds')}-fold {config.get('model')}{probe}"
    return f"Scan #{report['scan_id']} ({how}, {when})"


def print_summary(project: Project, *, as_json: bool = False) -> None:
    report = scan_report(project.store)
    if as_json:
        print_json(report)
        return
    report = for_terminal_data(report)  # class names and paths cannot act on the terminal
    print(_describe_scan(report))
    folder = shlex.quote(for_terminal(project.folder))
    print(report["headline"])
    stale = report["stale"]
    if stale:
        print(
            textwrap.fill(
                f"STALE: the project changed since this scan ({'; '.join(stale)}); run "
                "'labelaudit scan' again.",
                WIDTH,
            )
        )
    for finding in report["findings"]:
        print()
        print(f"{finding['topic'].replace('_', ' ').upper()} [{finding['severity']}]")
        print(textwrap.fill(finding["text"], WIDTH, initial_indent="  ", subsequent_indent="  "))
        advice = finding["advice"]
        for command in ("gui", "issues", "config"):  # the advice's commands, ready to paste
            advice = advice.replace(
                f"labelaudit {command} PROJECT", f"labelaudit {command} {folder}"
            )
        print(
            textwrap.fill(
                "What to do: " + advice,
                WIDTH,
                initial_indent="  ",
                subsequent_indent="  ",
            )
        )
    for line in noise_lines(report):
        print(line)


MAX_TABLE_CLASSES = 12  # above this, the confusions are listed instead of the full table
TOP_CONFUSIONS = 10


def noise_lines(report: dict[str, Any]) -> list[str]:
    """The given x likely counts (or the largest confusions when K is large) and the per-class
    label noise, as plain text lines."""
    matrix = report.get("confident_joint")
    if not matrix:
        return []
    names, counts = matrix["classes"], matrix["counts"]
    lines = [
        "",
        "CONFIDENT JOINT (cleanlab's estimate, counts; rows: given label, columns: likely)",
    ]
    if len(names) <= MAX_TABLE_CLASSES:
        width = max(6, *(len(str(c)) for row in counts for c in row)) + 1
        label = max(len(n[:12]) for n in names) + 2
        lines.append(" " * label + "".join(n[: width - 1].rjust(width) for n in names))
        for name, row in zip(names, counts, strict=True):
            lines.append(f"  {name[:12]:<{label - 2}}" + "".join(str(c).rjust(width) for c in row))
    else:
        cells = sorted(
            ((c, g, p) for g, row in enumerate(counts) for p, c in enumerate(row) if g != p and c),
            key=lambda t: (-t[0], t[1], t[2]),
        )[:TOP_CONFUSIONS]
        lines.append(f"  the {len(cells)} largest off-diagonal cells (given -> likely: images):")
        lines += [f"  {names[g]} -> {names[p]}: {c}" for c, g, p in cells] or ["  none"]
    noisy = sorted(
        (c for c in report.get("class_noise", []) if c["label_noise"]),
        key=lambda c: (-c["label_noise"], c["class"]),
    )
    shown = noisy[:MAX_TABLE_CLASSES]
    text = ", ".join(f"{c['class']} {100 * c['label_noise']:.1f}%" for c in shown) or "none"
    if len(noisy) > len(shown):
        text += f" (and {len(noisy) - len(shown)} more classes below)"
    lines.append("")
    lines.append("LABEL NOISE PER CLASS (share of a class's given labels that look wrong)")
    lines.append(textwrap.fill(text, WIDTH, initial_indent="  ", subsequent_indent="  "))
    return lines


def _run(args: argparse.Namespace) -> int:
    with open_project(args) as project:
        print_summary(project, as_json=args.json)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "summary",
        help="what the latest scan found, in plain words",
        description="The dataset-level findings of the latest scan: how many labels look wrong "
        "and in which classes, which classes overlap, how imbalanced the classes are, "
        "duplicates, outliers, and what to do about each.",
    )
    add_project_args(parser)
    parser.add_argument("--json", action="store_true", help="the summary and findings as JSON")
    parser.set_defaults(func=_run)

"""provenance.json (what made this export, reproducibly) and CHANGES.md (what it changed, why)."""

from __future__ import annotations

import datetime as dt
import math
import platform
from typing import Any

import numpy as np

from labelaudit import __version__
from labelaudit.core.export import labels as lab
from labelaudit.core.export.plan import ExportPlan
from labelaudit.core.versions import package_versions

REASON_TEXT = {
    lab.OUT_BROKEN: "the file is broken",
    lab.OUT_MISSING: "the file is missing",
    lab.OUT_NO_LABEL: "no label",
    lab.OUT_DROPPED_LEAD: "dropped by the lead",
    lab.OUT_DROPPED_CONSENSUS: "dropped by the annotators' consensus",
    lab.OUT_FLAGGED_UNREVIEWED: "flagged by the scan, not reviewed (--unreviewed exclude-flagged)",
    lab.OUT_BELOW_THRESHOLD: "flagged, not reviewed, suggestion below --auto-fix-threshold",
    lab.OUT_DUPLICATE: "exact duplicate of an exported image (--dedupe keep-one)",
    lab.OUT_UNDERSAMPLED: "left out of train by --rebalance undersample",
}
LIBRARIES = ("numpy", "pillow", "scikit-learn", "cleanlab", "SQLAlchemy", "torch", "torchvision")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def library_versions() -> dict[str, str | None]:
    return {"python": platform.python_version(), **package_versions(LIBRARIES)}


def counts(plan: ExportPlan) -> dict[str, Any]:
    """Per-class counts before (valid images, given labels) and after (rows per split)."""
    names = plan.class_names
    valid = plan.catalog.valid
    before = np.bincount(plan.catalog.labels[valid], minlength=len(names))
    after: dict[str, dict[str, int]] = {
        s: {plan.folders[c]: 0 for c in names} for s in plan.split_names
    }
    for e in plan.entries:
        after[e.split][plan.folder_of(e.label)] += 1
    reasons, numbers = np.unique(plan.excluded[plan.excluded != ""], return_counts=True)
    return {
        "before": {plan.folders[c]: int(n) for c, n in zip(names, before)},
        "after": after,
        "images_exported": sum(1 for e in plan.entries if e.repeat == 1),
        "rows_written": len(plan.entries),
        "repeats": sum(1 for e in plan.entries if e.repeat > 1),
        "relabelled": int((plan.final.relabelled & (plan.excluded == "")).sum()),
        "excluded": {str(r): int(n) for r, n in zip(reasons, numbers)},
        "unresolved": int(plan.final.unresolved.sum()),
    }


def provenance(
    plan: ExportPlan,
    *,
    project: dict[str, Any],
    sha256: dict[str, str],
    files: dict[str, Any],
    created_at: str,
) -> dict[str, Any]:
    opts = plan.options
    return {
        "labelaudit_version": __version__,
        "format_version": 1,
        "created_at": created_at,
        "project": project,
        "options": opts.as_json(),
        "consensus": {
            "method_requested": plan.review.method_requested,
            "method": plan.review.method_used,
            "notes": plan.review.notes,
        },
        "policy": {"unreviewed": opts.unreviewed, "auto_fix_threshold": opts.auto_fix_threshold},
        "seed": opts.seed,
        "scan": plan.review.scan,
        "review_settings": plan.review.settings,
        "classes": [
            {"index": int(plan.export_index[k]), "folder": plan.folders[c], "name": c}
            for k, c in sorted(enumerate(plan.class_names), key=lambda kc: plan.export_index[kc[0]])
        ],
        "splits": {
            "names": list(plan.split_names),
            "fractions": None if opts.keep_splits else list(opts.splits),
            "kept_from_import": opts.keep_splits,
            "deviations": [
                {
                    "class": plan.folders[plan.class_names[d.class_index]],
                    "split": d.split,
                    "count": d.count,
                    "share": round(d.share, 3),
                    "largest_duplicate_group": d.largest_group,
                }
                for d in plan.deviations
            ],
            "straddling_duplicate_groups": plan.straddling,
        },
        "rebalance": {
            "mode": opts.rebalance,
            "retrain_balancing": plan.retrain_balancing,
            "why": _balancing_note(plan.retrain_balancing),
        },
        "counts": counts(plan),
        "files": files,
        "libraries": library_versions(),
        "warnings": plan.warnings,
        "sha256": sha256,
    }


def _balancing_note(mechanism: str) -> str:
    if mechanism == "none":
        return "the train split is already rebalanced: train on it as is (no class weights)"
    return (
        "the train split keeps its imbalance: weight the loss with class_weights.json, or draw "
        "with the manifest's weight column (WeightedRandomSampler), not both"
    )


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _row(cells: tuple[object, ...]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def changes_markdown(plan: ExportPlan, *, created_at: str, project_name: str) -> str:
    """A readable account of every relabelled, removed or unresolved image."""
    paths = plan.catalog.paths
    assert paths is not None
    opts = plan.options
    c = counts(plan)
    lines = [
        "# Changes in this export",
        "",
        f"Project `{project_name}`, exported {created_at} by labelaudit {__version__}. "
        f"Consensus: {plan.review.method_used}; images nobody reviewed: `--unreviewed "
        f"{opts.unreviewed}`"
        + (f" (threshold {opts.auto_fix_threshold})" if opts.unreviewed == "auto-fix" else "")
        + f"; seed {opts.seed}.",
        "",
        f"- exported: {c['images_exported']} images ({c['rows_written']} rows with "
        f"{c['repeats']} oversampled repeats)",
        f"- relabelled: {c['relabelled']}",
        f"- left out: {sum(c['excluded'].values())}",
        f"- unresolved (waiting for votes or a lead): {c['unresolved']}",
    ]
    kept = int((plan.final.source == lab.SOURCE_UNREVIEWED_KEEP).sum())
    if kept:
        lines.append(
            f"- flagged or put into review, kept with the given label (`--unreviewed keep`): {kept}"
        )
    lines.append("")
    lines += _relabelled(plan, paths)
    lines += _removed(plan, paths)
    lines += _unresolved(plan, paths)
    lines += _notes(plan)
    return "\n".join(lines).rstrip() + "\n"


def _by_what(plan: ExportPlan, row: int) -> str:
    source = str(plan.final.source[row])
    who = plan.review.who.get(row, "")
    if source == lab.SOURCE_AUTO_FIX:
        p = float(plan.review.facts.suggested_prob[row])
        scan = plan.review.scan
        by = f"scan #{scan['id']}" if scan else "the scan"
        return f"auto-fix: {by} suggests it with p={p:.2f} >= {plan.options.auto_fix_threshold}"
    if source == lab.SOURCE_CONSENSUS:
        return f"consensus ({plan.review.method_used}); {who}" if who else "consensus"
    return who or source


def _quality(plan: ExportPlan, row: int) -> str:
    q = float(plan.review.facts.label_quality[row])
    return "" if math.isnan(q) else f"{q:.3f}"


def _relabelled(plan: ExportPlan, paths: list[str]) -> list[str]:
    rows = np.flatnonzero(plan.final.relabelled & (plan.excluded == ""))
    if rows.size == 0:
        return []
    out = [
        "## Relabelled",
        "",
        "| image | from | to | by | label quality |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        given, final = int(plan.final.given[r]), int(plan.final.final[r])
        cells = (
            paths[r],
            plan.folder_of(given),
            plan.folder_of(final),
            _by_what(plan, int(r)),
            _quality(plan, int(r)),
        )
        out.append(_row(cells))
    return [*out, ""]


def _removed(plan: ExportPlan, paths: list[str]) -> list[str]:
    rows = np.flatnonzero(plan.excluded != "")
    if rows.size == 0:
        return []
    out = ["## Left out", "", "| image | label | why | by |", "| --- | --- | --- | --- |"]
    for r in rows:
        reason = str(plan.excluded[r])
        why = REASON_TEXT.get(reason, reason)
        if reason == lab.OUT_DUPLICATE and plan.duplicate_of[r] >= 0:
            why = f"exact duplicate of {paths[int(plan.duplicate_of[r])]} (--dedupe keep-one)"
        by = plan.review.who.get(int(r), "") if reason.startswith("dropped") else ""
        label = plan.folder_of(int(plan.final.given[r]))
        if reason == lab.OUT_UNDERSAMPLED:  # left out after its final label was settled
            label = _final_label_text(plan, int(r))
        out.append(f"| {_cell(paths[r])} | {_cell(label)} | {_cell(why)} | {_cell(by)} |")
    return [*out, ""]


def _final_label_text(plan: ExportPlan, row: int) -> str:
    """The final label, with the given one where they differ ('dog (given cat)')."""
    final, given = int(plan.final.final[row]), int(plan.final.given[row])
    text = plan.folder_of(final)
    return text if final == given else f"{text} (given {plan.folder_of(given)})"


def _unresolved(plan: ExportPlan, paths: list[str]) -> list[str]:
    rows = np.flatnonzero(plan.final.unresolved)
    if rows.size == 0:
        return []
    state = plan.review.facts.state
    out = [
        "## Unresolved",
        "",
        "Review started but not settled. Those the scan flagged or a lead put into review "
        "followed the `--unreviewed` policy; the others keep their given label.",
        "",
        "| image | state | votes so far | exported as |",
        "| --- | --- | --- | --- |",
    ]
    for r in rows:
        outcome = plan.folder_of(int(plan.final.final[r])) if plan.excluded[r] == "" else "left out"
        out.append(_row((paths[r], state[r], plan.review.who.get(int(r), ""), outcome)))
    return [*out, ""]


def _notes(plan: ExportPlan) -> list[str]:
    notes = list(plan.warnings) + list(plan.review.notes)
    renamed = {c: f for c, f in plan.folders.items() if c != f}
    out: list[str] = []
    if renamed:
        out += ["## Class folders renamed", "", "| class | folder |", "| --- | --- |"]
        out += [f"| {_cell(c)} | {_cell(f)} |" for c, f in renamed.items()]
        out.append("")
    if plan.deviations:
        out += [
            "## Split deviations",
            "",
            "| class | split | count | share |",
            "| --- | --- | --- | --- |",
        ]
        out += [
            _row(
                (plan.folders[plan.class_names[d.class_index]], d.split, d.count, f"{d.share:.1f}")
            )
            for d in plan.deviations
        ]
        out.append("")
    if notes:
        out += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    return out

"""The dataset-level findings of a scan in plain words, each with what to do about it.

Input: the ``summary`` JSON a scan stores (see ``analyze._summary``). Output: ``Finding`` records
that the CLI prints (``labelaudit summary``) and the app shows; their order is the order of
importance for a user whose model trains badly: wrong labels, confused classes, imbalance,
duplicates, outliers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, TypedDict

import numpy as np

from labelaudit.core.errors import InputError
from labelaudit.core.scan_summary import AuditSummary
from labelaudit.core.store.engine import Store
from labelaudit.core.store.scan_results import (
    CLASS_LEVEL,
    ScanResults,
    latest_scan_id,
    load_results,
)
from labelaudit.core.views.staleness import scan_staleness

MAX_CLASSES_NAMED = 5
SEVERE_IMBALANCE = 10.0
MODERATE_IMBALANCE = 3.0
WEAK_MODEL_ACCURACY = 0.6


@dataclass(frozen=True)
class Finding:
    topic: str  # a key of TOPIC_WORDS
    severity: str  # high | medium | low | info
    text: str
    advice: str

    def as_json(self) -> dict[str, str]:
        return asdict(self)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _model_finding(summary: AuditSummary, kind: str) -> Finding:
    model = summary.get("model") or {}
    name = model.get("model") or ("your model" if kind == "pred_probs" else "the model")
    accuracy = summary["accuracy"]
    where = "your predictions agree" if kind == "pred_probs" else f"cross-validated {name} agrees"
    severity = "high" if accuracy < WEAK_MODEL_ACCURACY else "medium" if accuracy < 0.85 else "info"
    advice = (
        "Low agreement means either many wrong labels or a model too weak for the data; the "
        "findings below say which. Label flags are only as good as this accuracy: with a "
        "stronger model (pretrained features: --model resnet18 --linear-probe) fewer real "
        "errors hide."
        if accuracy < 0.85
        else "The model is strong enough for its disagreements to be worth reviewing."
    )
    return Finding(
        "model",
        severity,
        f"{summary['n_images']} images, {summary['n_classes']} classes: {where} with the given "
        f"labels on {_pct(accuracy)} of the images.",
        advice,
    )


def _label_finding(summary: AuditSummary) -> Finding:
    issues = summary["label_issues"]
    n = summary["n_images"]
    worst = sorted(
        ((c["flagged"], name, c) for name, c in issues["by_class"].items() if c["flagged"]),
        key=lambda t: (-t[0], t[1]),
    )[:MAX_CLASSES_NAMED]
    named = ", ".join(
        f"{name} ({flagged} of {c['images']}, {_pct(flagged / max(c['images'], 1))})"
        for flagged, name, c in worst
    )
    health = summary["health_score"]
    severity = "high" if health < 0.85 else "medium" if issues["flagged"] else "info"
    text = (
        f"About {issues['estimated']} of {n} labels ({_pct(1 - health)}) look wrong (cleanlab's "
        f"label health score {health:.3f}); {issues['flagged']} images are flagged"
        + (f", most in: {named}." if named else ".")
    )
    if summary["accuracy"] < WEAK_MODEL_ACCURACY:
        text += (
            " The model agrees with so few labels that these are candidates to look at, not "
            "verdicts: a weak model also disagrees with right labels."
        )
    if not issues["flagged"]:
        return Finding("labels", "info", text, "No label stands out as wrong; nothing to review.")
    return Finding(
        "labels",
        severity,
        text,
        "Review the flagged images, worst first: 'labelaudit gui PROJECT', or "
        "'labelaudit issues PROJECT -o issues.csv' for a list with the suggested label. "
        "Fixing wrong labels usually gains more accuracy than a bigger model.",
    )


def _overlap_finding(summary: AuditSummary) -> Finding | None:
    pairs = summary.get("overlapping_classes") or []
    if not pairs:
        return None
    described = "; ".join(
        f"{p['a']} and {p['b']} (about {p['overlap']} images, {_pct(p['share_of_smaller'])} of "
        "the smaller class)"
        for p in pairs[:MAX_CLASSES_NAMED]
    )
    top = pairs[0]["share_of_smaller"]
    return Finding(
        "overlap",
        "high" if top >= 0.2 else "medium",
        f"Classes that get confused with each other: {described}.",
        "Write down how to tell each pair apart and relabel their flagged images; if the "
        "difference does not matter for your task, merge the pair into one class.",
    )


def _imbalance_finding(summary: AuditSummary) -> Finding:
    info = summary["imbalance"]
    ratio = info["ratio"]
    big, small = info["largest"], info["smallest"]
    if big["images"] == small["images"]:
        text = f"Every class with images has {big['images']} of them."
    else:
        text = (
            f"Largest class {big['class']} has {big['images']} images, smallest "
            f"{small['class']} has {small['images']}: a ratio of {ratio:.1f}."
        )
    if info["empty_classes"]:
        text += f" Classes with no valid image: {', '.join(info['empty_classes'])}."
    if ratio >= MODERATE_IMBALANCE:
        severity = "high" if ratio >= SEVERE_IMBALANCE else "medium"
        advice = (
            f"Collect more images of the small classes, or rebalance when exporting (class "
            f"weights or oversampling); a model may otherwise rarely predict {small['class']}."
        )
        return Finding("imbalance", severity, text, advice)
    return Finding("imbalance", "info", text, "The classes are reasonably balanced.")


def _small_class_finding(summary: AuditSummary) -> Finding | None:
    small = summary.get("small_classes") or []
    if not small:
        return None
    listed = ", ".join(f"{c['class']} ({c['images']})" for c in small)
    minimum = summary["options"]["min_class_size"]
    return Finding(
        "small_classes",
        "medium",
        f"Classes with fewer than {minimum} images are too small to audit, and their labels "
        f"are not flagged: {listed}.",
        "Add images to these classes, merge them into a related class, or drop them.",
    )


def _duplicate_findings(summary: AuditSummary) -> list[Finding]:
    found: list[Finding] = []
    exact = summary["duplicates"]["exact"]
    if exact["groups"]:
        conflict = exact["conflicting_label_groups"]
        found.append(
            Finding(
                "duplicates",
                "high" if conflict else "low",
                f"{exact['images']} images are exact copies of another "
                f"({_count(exact['groups'], 'group')}); groups with different labels for the same "
                f"picture: {conflict}.",
                "Copies with different labels are certain label errors: settle one label. Keep "
                "one copy of each in the export, or copies leak between train and test splits "
                "(scans already keep them in one fold).",
            )
        )
    near = summary["duplicates"].get("near")
    if near and near["groups"]:
        found.append(
            Finding(
                "duplicates",
                "medium" if near["conflicting_label_groups"] else "low",
                f"{near['images']} images fall into {_count(near['groups'], 'group')} of "
                f"near-duplicates (exact copies included); "
                f"groups that mix labels: {near['conflicting_label_groups']}.",
                "Look at the groups (review type near_duplicate: 'labelaudit config PROJECT "
                "review_issue_types label,near_duplicate'); keep one image per group when "
                "splitting train and test.",
            )
        )
    return found


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _outlier_finding(summary: AuditSummary) -> Finding | None:
    outliers = summary.get("outliers")
    if not outliers or not outliers["flagged"]:
        return None
    return Finding(
        "outliers",
        "low",
        f"{outliers['flagged']} images look unlike the rest ({outliers['rule']}).",
        "Check them: images from another domain, blank or corrupt pictures, or rare cases that "
        "deserve more examples. Add the review type outlier to review them in the app.",
    )


def _image_quality_finding(summary: AuditSummary) -> Finding | None:
    quality = summary.get("image_quality")
    if not quality:
        return None
    if not quality["measured"]:
        return Finding(
            "image_quality",
            "info",
            "Image brightness and sharpness were not measured (imported by an older labelaudit).",
            "Run 'labelaudit import PROJECT --rehash' and scan again to check for dark, "
            "overexposed, blurry and odd-size images.",
        )
    words = {"dark": "dark", "light": "overexposed", "blurry": "blurry", "odd_size": "odd-size"}
    measured = {
        "dark": quality["dark"],
        "light": quality["light"],
        "blurry": quality["blurry"],
        "odd_size": quality["odd_size"],
    }
    counts = {name: n for name, n in measured.items() if n}
    if not counts:
        return None
    listed = ", ".join(
        f"{n} {words[name]}" + ("" if words[name] == name else f" ({name})")
        for name, n in counts.items()
    )
    types = ",".join(counts)
    return Finding(
        "image_quality",
        "low",
        f"Some images look unusable for training: {listed}. These are not label issues.",
        "Check them (the app's issue filter) and drop the unusable ones. They are not reviewed "
        f"by default: 'labelaudit config PROJECT review_issue_types label,{types}' puts them "
        "into review.",
    )


def findings(summary: AuditSummary, *, kind: str = "cv") -> list[Finding]:
    """Every finding of one scan's summary, most important first."""
    listed = [
        _model_finding(summary, kind),
        _label_finding(summary),
        _overlap_finding(summary),
        _imbalance_finding(summary),
        _small_class_finding(summary),
        *_duplicate_findings(summary),
        _outlier_finding(summary),
        _image_quality_finding(summary),
    ]
    return [f for f in listed if f is not None]


TOPIC_WORDS = {
    "model": "low agreement between model and labels",
    "labels": "wrong labels",
    "overlap": "overlapping classes",
    "imbalance": "class imbalance",
    "small_classes": "classes too small to audit",
    "duplicates": "duplicates",
    "outliers": "outliers",
    "image_quality": "image quality",
}


def headline(found: list[Finding]) -> str:
    """One line naming the problems worth acting on, most severe first."""
    ranked = [f for level in ("high", "medium") for f in found if f.severity == level]
    words = list(dict.fromkeys(TOPIC_WORDS[f.topic] for f in ranked))
    if not words:
        return "No major problem found."
    return "Main problems, most serious first: " + ", ".join(words) + "."


def confident_joint(results: ScanResults) -> dict[str, Any] | None:
    """cleanlab's calibrated confident joint as counts (K, K): rows = given, columns = likely."""
    counts = results.arrays.get("confident_joint")
    if counts is None:  # a scan stored before class-level arrays existed
        return None
    return {
        "classes": results.class_names,
        "rows": "given label",
        "columns": "likely label",
        "counts": np.asarray(counts, dtype=np.int64).tolist(),
    }


def class_noise(results: ScanResults) -> list[dict[str, Any]]:
    """Per class (index order), cleanlab's label noise P(likely != k | given k), its inverse
    P(given != k | likely k) when the joint is stored, and the estimated wrong labels."""
    issues = results.summary.get("label_issues")
    by_class = {} if issues is None else issues["by_class"]
    joint = results.arrays.get("joint")
    inverse = None
    if joint is not None:
        column = joint.sum(axis=0)
        inverse = 1 - np.divide(
            joint.diagonal(), column, out=np.ones(len(column)), where=column > 0
        )
    rows = []
    for k, name in enumerate(results.class_names):
        stats = by_class.get(name)
        rows.append(
            {
                "class": name,
                "images": None if stats is None else stats.get("images"),
                "label_noise": None if stats is None else stats.get("label_noise"),
                "inverse_label_noise": None if inverse is None else round(float(inverse[k]), 4),
                "estimated_issues": None if stats is None else stats.get("estimated_issues"),
            }
        )
    return rows


class ScanReport(TypedDict):
    """The latest scan as ``labelaudit summary --json`` prints it and the HTML report reads it."""

    confident_joint: dict[str, Any] | None
    class_noise: list[dict[str, Any]]
    scan_id: int
    kind: str  # cv | pred_probs
    created_at: float
    config: dict[str, Any]
    stale: list[str]  # why the scan no longer matches the labels, if it does not
    summary: AuditSummary
    headline: str
    findings: list[dict[str, str]]


def scan_report(store: Store) -> ScanReport:
    """The latest finished scan: its summary, findings in plain words, and staleness."""
    with store.read() as conn:
        scan_id = latest_scan_id(conn)
    if scan_id is None:
        raise InputError("no finished scan yet: run 'labelaudit scan PROJECT' first")
    results = load_results(store, scan_id, names=CLASS_LEVEL)
    assert results is not None
    stale = scan_staleness(store, [scan_id]).get(scan_id, [])
    found = findings(results.summary, kind=results.kind)
    return {
        "confident_joint": confident_joint(results),
        "class_noise": class_noise(results),
        "scan_id": scan_id,
        "kind": results.kind,
        "created_at": results.created_at,
        "config": results.config,
        "stale": stale,
        "summary": results.summary,
        "headline": headline(found),
        "findings": [f.as_json() for f in found],
    }

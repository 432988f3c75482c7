"""Provenance of a report: library versions and the commands that reproduce what it shows.

The commands are rebuilt from what the project recorded (the import source, the scan's config,
the export's options); flags left at their defaults are left out.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from labelaudit.core.export.report import library_versions
from labelaudit.core.report.model import ExportFacts, ScanFacts
from labelaudit.core.versions import package_versions

REPORT_LIBRARIES = ("matplotlib",)
SCAN_FLAGS = {  # scan config key -> flag, for the values a user sets
    "model": "--model",
    "folds": "--folds",
    "epochs": "--epochs",
    "image_size": "--image-size",
    "seed": "--seed",
    "weights": "--weights",
}
EXPORT_DEFAULTS: dict[str, Any] = {
    "consensus": "auto",
    "unreviewed": "exclude-flagged",
    "auto_fix_threshold": 0.7,
    "dedupe": "keep-one",
    "splits": [0.8, 0.1, 0.1],
    "keep_splits": False,
    "seed": 0,
    "rebalance": "none",
    "formats": ["imagefolder", "csv"],
    "mode": "copy",
}


def versions() -> dict[str, str | None]:
    return {**library_versions(), **package_versions(REPORT_LIBRARIES)}


def _q(value: object) -> str:
    return shlex.quote(str(value))


def scan_command(project: str, scan: ScanFacts) -> str:
    config = scan.report["config"]
    audit = config.get("audit") or {}
    parts = ["labelaudit scan", _q(project)]
    if scan.report["kind"] == "pred_probs":
        parts += ["--pred-probs", _q(config.get("pred_probs") or "PRED_PROBS.npy")]
        if config.get("embeddings"):
            parts += ["--embeddings", _q(config["embeddings"])]
    else:
        for key, flag in SCAN_FLAGS.items():
            if config.get(key) is not None:
                parts += [flag, _q(config[key])]
        parts += [flag for key, flag in (("linear_probe", "--linear-probe"),) if config.get(key)]
    if audit.get("min_class_size") is not None:
        parts += ["--min-class-size", _q(audit["min_class_size"])]
    return " ".join(parts)


def export_command(project: str, export: ExportFacts) -> str:
    parts = ["labelaudit export", _q(project), "--out", _q(export.out_dir)]
    for key, default in EXPORT_DEFAULTS.items():
        value = export.params.get(key, default)
        if value == default:
            continue
        flag = "--format" if key == "formats" else "--" + key.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag)
        elif isinstance(value, list):
            parts += [flag, ",".join(str(v) for v in value)]
        else:
            parts += [flag, _q(value)]
    return " ".join(parts)


def commands(
    project: dict[str, str],
    *,
    manifest: str | None,
    scan: ScanFacts | None,
    export: ExportFacts | None,
    votes: int,
    output: Path | None,
) -> list[str]:
    """The commands, in order, from the images to this report."""
    folder = project["folder"]
    init = f"labelaudit init {_q(folder)} --images {_q(project['image_root'])}"
    out = [init + (f" --manifest {_q(manifest)}" if manifest else "")]
    if scan is not None:
        out.append(scan_command(folder, scan))
    if votes:
        out.append(f"labelaudit gui {_q(folder)}   # the team's {votes} votes and the lead's calls")
    if export is not None:
        out.append(export_command(folder, export))
        if export.history is not None:
            out.append(f"python {_q(export.out_dir / 'retrain.py')} {_q(export.out_dir)}")
    shown = _q(output) if output is not None else "report.html"
    out.append(f"labelaudit report {_q(folder)} -o {shown}")
    return out

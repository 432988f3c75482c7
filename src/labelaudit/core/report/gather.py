"""Facts from the store for the report: the import, the latest scan, the latest export.

Everything the diagnosis says comes from the code ``labelaudit summary`` and ``labelaudit info``
run (``audit.findings.scan_report``, ``info.project_info``): the report never recomputes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from labelaudit.core.dataset.catalog import Catalog, load_catalog
from labelaudit.core.report.model import ExportFacts, ImageRef, ImportFacts, PairExamples, ScanFacts
from labelaudit.core.store.engine import Store
from labelaudit.core.store.scan_results import LIGHT_ARRAYS, latest_scan_id, load_results
from labelaudit.core.store.schema import exports, scans
from labelaudit.core.views.findings import ScanReport, scan_report
from labelaudit.core.views.project_info import project_info

WORST_SHOWN = 40  # the issue asks for the worst 20-50 flagged images
GROUPS_SHOWN = 10
GROUP_MEMBERS_SHOWN = 6
PAIRS_SHOWN = 6
PAIR_EXAMPLES = 8
HISTORY_FILE = "retrain_history.json"  # export_assets/retrain.py writes it
HISTORY_FORMAT = "labelaudit-retrain-history/1"
CHANGES_FILE = "CHANGES.md"
PROVENANCE_FILE = "provenance.json"


def import_facts(store: Store) -> ImportFacts:
    info = project_info(store, max_paths=0)
    return ImportFacts(
        totals=dict(info["images"]),
        classes={n: c["ok"] for n, c in info["classes"].items() if n != "(no label)"},
        problems={r: e["count"] for r, e in info["problems"].items()},
        problem_words={r: e["description"] for r, e in info["problems"].items()},
        duplicate_groups=int(info["duplicates"]["groups"]),
        duplicate_images=int(info["duplicates"]["images"]),
        conflicting_duplicate_groups=sum(g["labels_conflict"] for g in info["duplicate_groups"]),
    )


class _Images:
    """Paths, hashes and given labels by image id, to turn array rows into ``ImageRef``s."""

    def __init__(self, catalog: Catalog, class_names: list[str]) -> None:
        self.catalog = catalog
        self.row = {int(i): r for r, i in enumerate(catalog.image_ids)}
        self.names = class_names

    def ref(self, image_id: int, *, suggested: int = -1, quality: float | None = None) -> ImageRef:
        r = self.row[image_id]
        given = int(self.catalog.labels[r])
        names = self.catalog.class_names
        return ImageRef(
            image_id=image_id,
            path=(self.catalog.paths or [""])[r],
            sha256=(self.catalog.sha256 or [None])[r],
            given=names[given] if given >= 0 else "",
            suggested=self.names[suggested] if 0 <= suggested < len(self.names) else "",
            quality=None if quality is None or not np.isfinite(quality) else float(quality),
        )


def scan_facts(store: Store) -> ScanFacts | None:
    """The latest finished scan, or None when there is none."""
    with store.read() as conn:
        scan_id = latest_scan_id(conn)
        if scan_id is None:
            return None
        versions = conn.execute(sa.select(scans.c.versions).where(scans.c.id == scan_id)).scalar()
    report = scan_report(store)
    results = load_results(store, scan_id, names=(*LIGHT_ARRAYS, "near_dup_group"))
    assert results is not None
    images = _Images(load_catalog(store), results.class_names)
    ids, quality = results.image_ids, results.label_quality.astype(np.float64)
    suggested, flagged = results.suggested, results.is_label_issue.astype(bool)
    present = np.array([int(i) in images.row for i in ids], dtype=bool)  # removed since the scan

    def ref(row: int) -> ImageRef:
        return images.ref(int(ids[row]), suggested=int(suggested[row]), quality=quality[row])

    order = np.flatnonzero(flagged & present)
    worst = order[np.argsort(quality[order], kind="stable")][:WORST_SHOWN]
    groups, total = _conflict_groups(results.arrays.get("near_dup_group"), results.labels, present)
    return ScanFacts(
        report=report,
        versions=json.loads(versions or "{}"),
        label_quality=[round(float(q), 4) for q in quality],
        flagged=[bool(f) for f in flagged],
        worst=[ref(int(r)) for r in worst],
        conflict_groups=[[ref(int(r)) for r in g[:GROUP_MEMBERS_SHOWN]] for g in groups],
        conflict_labels=[_label_counts(results.labels[g], results.class_names) for g in groups],
        conflict_group_total=total,
        pairs=_pair_examples(
            report, results.class_names, (results.labels, suggested, quality, present), ref
        ),
    )


def _conflict_groups(
    group: np.ndarray | None, labels: np.ndarray, present: np.ndarray
) -> tuple[list[np.ndarray], int]:
    """Rows of the near-duplicate groups that mix labels (largest first), and how many there are."""
    if group is None:
        return [], 0
    rows = np.flatnonzero((group >= 0) & present)
    found = []
    for g in np.unique(group[rows]):
        members = rows[group[rows] == g]
        if len(set(labels[members].tolist())) > 1:
            found.append(_mixed_first(members, labels))
    found.sort(key=lambda m: (-len(m), int(m.min())))
    return found[:GROUPS_SHOWN], len(found)


def _mixed_first(members: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The group's rows taking each label in turn (rarest label first), so that the few shown
    carry every conflicting label."""
    by_label: dict[int, list[int]] = {}
    for r in members.tolist():
        by_label.setdefault(int(labels[r]), []).append(r)
    queues = sorted(by_label.values(), key=lambda rows: (len(rows), rows[0]))
    ordered = [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)]
    return np.asarray(ordered, dtype=np.int64)


def _label_counts(labels: np.ndarray, names: list[str]) -> str:
    values, counts = np.unique(labels, return_counts=True)
    pairs = sorted(zip(counts.tolist(), values.tolist(), strict=True), key=lambda t: (-t[0], t[1]))
    return ", ".join(f"{names[v] if v >= 0 else '(no label)'} ×{n}" for n, v in pairs)


def _pair_examples(
    report: ScanReport,
    names: list[str],
    rows_of: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ref: Callable[[int], ImageRef],
) -> list[PairExamples]:
    """For each overlapping pair, the images given one class that the model puts in the other,
    lowest label quality first. ``rows_of``: labels, suggested, quality, present (scan rows)."""
    labels, suggested, quality, present = rows_of
    out = []
    for pair in (report["summary"].get("overlapping_classes") or [])[:PAIRS_SHOWN]:
        a, b = names.index(pair["a"]), names.index(pair["b"])
        crossed = ((labels == a) & (suggested == b)) | ((labels == b) & (suggested == a))
        rows = np.flatnonzero(crossed & present)
        rows = rows[np.argsort(quality[rows], kind="stable")][:PAIR_EXAMPLES]
        out.append(
            PairExamples(
                a=pair["a"],
                b=pair["b"],
                overlap=int(pair["overlap"]),
                share_of_smaller=float(pair["share_of_smaller"]),
                images=[ref(int(r)) for r in rows],
            )
        )
    return out


def export_facts(store: Store) -> ExportFacts | None:
    """The latest recorded export, with its provenance, CHANGES.md and retraining history when
    its folder is still there."""
    with store.read() as conn:
        row = conn.execute(sa.select(exports).order_by(exports.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    out = Path(row.out_dir)
    provenance = _read_json(out / PROVENANCE_FILE)
    history, note = _history(out, provenance)
    changes = out / CHANGES_FILE
    return ExportFacts(
        export_id=int(row.id),
        created_at=float(row.created_at),
        out_dir=out,
        params=json.loads(row.params),
        counts=json.loads(row.counts),
        provenance=provenance,
        changes_file=changes if changes.is_file() else None,
        history=history,
        history_note=note,
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _history(out: Path, provenance: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str]:
    """retrain.py's history of this export; a history of an earlier export in the same folder
    (the export was replaced since) is not shown as this one's."""
    history = _read_json(out / HISTORY_FILE)
    run = f"python {out / 'retrain.py'} {out}"
    if history is None or history.get("format") != HISTORY_FORMAT or not history.get("epochs"):
        return None, f"retrain.py has not run on this export: '{run}' writes {HISTORY_FILE}"
    made = (provenance or {}).get("created_at")
    if made and history.get("export_created_at") not in (None, made):
        return None, f"{HISTORY_FILE} belongs to an earlier export in {out}: run '{run}' again"
    return history, ""

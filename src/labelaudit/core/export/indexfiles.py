"""The small files beside the images: manifest.csv, classes.json, class_weights.json, Label Studio.

``classes.json`` is exactly torchvision ImageFolder's ``class_to_idx`` for the export's folders
(sorted folder names), so a training script maps labels through it and never through the order
in which it happens to find folders in one split.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from labelaudit.core.csv_safe import SafeWriter
from labelaudit.core.export.plan import ExportPlan

MANIFEST_COLUMNS = (
    "split",
    "path",
    "source_path",
    "label",
    "original_label",
    "decision_source",
    "label_quality",
    "weight",
)
LABEL_STUDIO_DIR = "labelstudio"


def classes_json(plan: ExportPlan) -> dict[str, int]:
    """{folder name: export class index}, in index order (ImageFolder's class_to_idx)."""
    pairs = sorted(
        (int(plan.export_index[k]), plan.folders[c]) for k, c in enumerate(plan.class_names)
    )
    return {folder: index for index, folder in pairs}


def class_weights_json(plan: ExportPlan) -> dict[str, float]:
    """{folder name: weight}, in export index order: w_k = n / (K * n_k) on the train split."""
    pairs = sorted(
        (int(plan.export_index[k]), plan.folders[c], float(plan.weights[k]))
        for k, c in enumerate(plan.class_names)
    )
    return {folder: round(weight, 6) for _, folder, weight in pairs}


def manifest_csv(plan: ExportPlan, *, image_root: Path) -> str:
    """One row per entry (repeats included). ``path`` is relative to DIR; without the
    imagefolder layout it is the source file's absolute path. ``source_path`` is the stored
    path, relative to the project's image root. Cells are escaped against spreadsheet formulas
    (``core/csv_safe.py``; the export's retrain.py reads them back unescaped)."""
    paths = plan.catalog.paths
    assert paths is not None
    quality = plan.review.facts.label_quality
    buf = io.StringIO()
    writer = SafeWriter(buf, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    for e in plan.entries:
        q = float(quality[e.row])
        writer.writerow(
            (
                e.split,
                e.dest or (image_root / paths[e.row]).as_posix(),
                paths[e.row],
                plan.folder_of(e.label),
                plan.folder_of(int(plan.final.given[e.row])),
                str(plan.final.source[e.row]),
                "" if math.isnan(q) else f"{q:.6g}",
                f"{e.weight:.6g}",
            )
        )
    return buf.getvalue()


def prediction_score(plan: ExportPlan, row: int, label: int) -> float | None:
    """How sure the final label is: 1 for a lead's decision, the consensus quality for a
    consensus, else the scan's probability of that label (label quality when it is the given
    label, the suggestion's probability when it is the suggestion); None when unknown."""
    facts = plan.review.facts
    by = str(facts.decided_by[row])
    if by == "lead":
        return 1.0
    if by == "consensus":
        return float(facts.consensus_quality[row])
    if label == int(plan.final.given[row]):
        return float(facts.label_quality[row])
    if label == int(facts.suggested[row]):
        return float(facts.suggested_prob[row])
    return None


def label_studio_tasks(plan: ExportPlan) -> list[dict[str, Any]]:
    """Label Studio JSON tasks: one per exported image, the final label as a prediction.

    Image URLs use Label Studio's local-files route, relative to DIR (or to the image root when
    the imagefolder layout is not written): set LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT there.
    """
    paths = plan.catalog.paths
    assert paths is not None
    tasks: list[dict[str, Any]] = []
    for e in plan.entries:
        if e.repeat != 1:
            continue
        where = e.dest or paths[e.row]
        q = prediction_score(plan, e.row, e.label)
        folder = plan.folder_of(e.label)
        prediction: dict[str, Any] = {
            "model_version": "labelaudit-export",
            "result": [
                {
                    "id": f"r{len(tasks)}",
                    "from_name": "label",
                    "to_name": "image",
                    "type": "choices",
                    "value": {"choices": [folder]},
                }
            ],
        }
        if q is not None and not math.isnan(q):
            prediction["score"] = round(q, 6)
        tasks.append(
            {
                "data": {
                    "image": f"/data/local-files/?d={quote(where)}",
                    "split": e.split,
                    "source_path": paths[e.row],
                    "original_label": plan.folder_of(int(plan.final.given[e.row])),
                    "decision_source": str(plan.final.source[e.row]),
                },
                "predictions": [prediction],
            }
        )
    return tasks


def label_studio_config(plan: ExportPlan) -> str:
    """The labelling configuration matching the tasks: one single-choice question."""
    return choices_config(list(classes_json(plan)))


def choices_config(names: list[str]) -> str:
    """A Label Studio labelling configuration: one single-choice question over ``names``."""
    choices = "\n".join(f"    <Choice value={quoteattr(name)}/>" for name in names)
    return (
        "<View>\n"
        '  <Image name="image" value="$image"/>\n'
        '  <Choices name="label" toName="image" choice="single" showInLine="true">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"

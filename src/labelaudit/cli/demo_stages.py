"""The audit stages ``labelaudit demo`` runs after the import, in order.

The demo's people first (two annotators and a lead), then the scan and its audit summary, then
an export with the automatic fixes (no votes yet), graded against the demo's answer key.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
from pathlib import Path

from labelaudit.cli.cmd_export import print_result
from labelaudit.cli.cmd_info import print_info
from labelaudit.cli.cmd_scan import load_average, print_outcome, threads_for_load
from labelaudit.cli.cmd_summary import print_summary
from labelaudit.cli.progress_bind import make_progress
from labelaudit.core.consensus.annotators import add_annotator, list_annotators
from labelaudit.core.export.options import ExportOptions
from labelaudit.core.project import Project
from labelaudit.core.scan.api import ScanConfig
from labelaudit.core.store.scan_results import latest_scan_id
from labelaudit.core.usecases.export import export_dataset
from labelaudit.core.usecases.scan import ScanRequest, run_scan
from labelaudit.core.views.staleness import scan_staleness

# The demo's scan: a small CNN on the CPU, few epochs, so the whole demo stays under a minute on a
# 2-core machine (measured: 18-22 s for the scan; the full default trains ~2x longer).
DEMO_EPOCHS = 8


# Two annotators and a lead, so a newcomer can try each role at once (the names mark the role).
DEMO_PEOPLE = (("ana", "annotator"), ("bob", "annotator"), ("lena", "lead"))


def register_people(project: Project) -> None:
    """Register the demo's annotators and lead (kept as they are when already there)."""
    known = {person.name for person in list_annotators(project.store)}
    if not known:  # a new demo: two votes settle an image, so the two annotators suffice
        project.set_setting("votes_required", "2")
    for name, role in DEMO_PEOPLE:
        if name not in known:
            add_annotator(project.store, name, role=role, actor="demo")
    print(
        "people: ana and bob (annotators) and lena (lead) are registered, two votes per image; "
        f"the app asks who is working, or: labelaudit gui {project.folder} --annotator ana"
    )


def run_stages(project: Project, args: argparse.Namespace) -> None:
    print()
    register_people(project)
    print_info(project)
    if getattr(args, "skip_scan", False):
        return
    if scan_stage(project, seed=getattr(args, "seed", 0)):
        export_stage(project, demo_dir=args.dir, seed=getattr(args, "seed", 0))


def scan_stage(project: Project, *, seed: int = 0) -> bool:
    """Scan (unless a current scan exists) and print the audit summary; False without torch."""
    missing = [m for m in ("torch", "torchvision") if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"{' and '.join(missing)} not installed: skipping the CNN scan "
            "(pip install 'labelaudit[scan]')"
        )
        return False
    with project.store.read() as conn:
        existing = latest_scan_id(conn)
    print()
    if existing is not None and not scan_staleness(project.store, [existing]).get(existing):
        print(f"reusing scan #{existing}")
    else:
        threads = threads_for_load(os.cpu_count() or 1, load_average())
        config = ScanConfig(
            model="small-cnn", device="cpu", epochs=DEMO_EPOCHS, seed=seed, threads=threads
        )
        busy = f", {threads} thread(s): the machine is busy" if threads else ""
        print(
            f"scanning: {config.folds}-fold small CNN on the CPU, {DEMO_EPOCHS} epochs per fold"
            f"{busy}"
        )
        outcome = run_scan(
            project.store, project.image_root, ScanRequest(config=config), progress=make_progress()
        )
        print_outcome(outcome, project_dir=project.folder, elapsed_s=outcome.timings["total_s"])
    print()
    print_summary(project)
    return True


def export_stage(project: Project, *, demo_dir: Path, seed: int = 0) -> None:
    """Export with the audit's automatic fixes alone and grade it against ``truth.csv``."""
    out = demo_dir / "export"
    print()
    print(f"exporting with the automatic fixes alone (no votes yet) to {out}")
    options = ExportOptions(unreviewed="auto-fix", seed=seed, force=True, actor="demo")
    result = export_dataset(project, out, options, progress=make_progress())
    print_result(result)
    truth_csv = demo_dir / "truth.csv"
    if truth_csv.is_file():
        print(grade_export(out / "manifest.csv", truth_csv))


def grade_export(manifest: Path, truth_csv: Path) -> str:
    """One line: how many exported labels the answer key confirms, against the given labels."""
    with open(truth_csv, newline="", encoding="utf-8") as fh:
        key = list(csv.DictReader(fh))
    truth = {row["path"]: row["true_label"] for row in key}
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if "__rep" not in r["path"]]
    graded = [r for r in rows if r["source_path"] in truth]
    right = sum(r["label"] == truth[r["source_path"]] for r in graded)
    given_wrong = sum(row["given_label"] != row["true_label"] for row in key)
    return (
        f"answer key: {right} of {len(graded)} exported labels are right "
        f"({right / max(len(graded), 1):.1%}); the given labels had {given_wrong} of "
        f"{len(truth)} wrong ({given_wrong / max(len(truth), 1):.1%})"
    )

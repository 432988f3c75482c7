"""The audit stages ``labelaudit demo`` runs after the import, in order.

Each later stage (scan, audit summary, consensus) adds itself here as it lands.
"""

from __future__ import annotations

import argparse
import importlib.util

from labelaudit.cli.cmd_info import print_info
from labelaudit.cli.cmd_scan import print_outcome
from labelaudit.cli.cmd_summary import print_summary
from labelaudit.cli.progress_bind import make_progress
from labelaudit.core.audit.results import latest_scan_id
from labelaudit.core.audit.run import ScanRequest, run_scan
from labelaudit.core.audit.stale import scan_staleness
from labelaudit.core.project import Project
from labelaudit.core.scan.api import ScanConfig

# The demo's scan: a small CNN on the CPU, few epochs, so the whole demo stays near a minute or
# two on a 2-core machine (the full default trains ~2x longer for a little more accuracy).
DEMO_EPOCHS = 8


def run_stages(project: Project, args: argparse.Namespace) -> None:
    print()
    print_info(project)
    if not getattr(args, "skip_scan", False):
        scan_stage(project, seed=getattr(args, "seed", 0))


def scan_stage(project: Project, *, seed: int = 0) -> None:
    """Scan (unless a current scan exists) and print the audit summary."""
    missing = [m for m in ("torch", "torchvision") if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"{' and '.join(missing)} not installed: skipping the CNN scan "
            "(pip install 'labelaudit[scan]')"
        )
        return
    with project.store.read() as conn:
        existing = latest_scan_id(conn)
    print()
    if existing is not None and not scan_staleness(project.store, [existing]).get(existing):
        print(f"reusing scan #{existing}")
    else:
        config = ScanConfig(model="small-cnn", device="cpu", epochs=DEMO_EPOCHS, seed=seed)
        print(f"scanning: {config.folds}-fold small CNN on the CPU, {DEMO_EPOCHS} epochs per fold")
        outcome = run_scan(
            project.store, project.image_root, ScanRequest(config=config), progress=make_progress()
        )
        print_outcome(outcome, project_dir=project.folder, elapsed_s=outcome.timings["total_s"])
    print()
    print_summary(project)

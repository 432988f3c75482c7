"""``labelaudit export``: plan, write into a temporary folder, record, rename into place.

Sources are only read. Every file lands in a temporary folder beside DIR (``core/export/write.py``);
only a complete export is renamed to DIR, inside the same database transaction that records it
(``exports`` row plus an audit-log entry, ``core/export/commit.py``), so the project never records
an export that is not there. The plan (final labels, splits, rebalancing) is
``core/export/plan.py``.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelaudit.core.errors import InputError
from labelaudit.core.export import report
from labelaudit.core.export.commit import ExportInterrupted, record_and_publish
from labelaudit.core.export.options import ExportOptions
from labelaudit.core.export.plan import build_plan
from labelaudit.core.export.runs import ExportRun, sweep_killed_exports
from labelaudit.core.export.target import check_target, make_temp_folder, write_error
from labelaudit.core.export.testpause import pause_point
from labelaudit.core.export.write import ProjectLike, file_jobs, write_images, write_index_files
from labelaudit.core.progress import NullProgress, Progress

HARDLINK_WARNING = (
    "--mode hardlink: every exported image IS its source file (one file, two names); editing "
    "or augmenting an exported file in place changes the source"
)


@dataclass(frozen=True)
class ExportResult:
    export_id: int
    out_dir: Path
    provenance: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, Any]:
        return dict(self.provenance["counts"])


def export_dataset(
    project: ProjectLike,
    out_dir: Path,
    options: ExportOptions,
    *,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the cleaned, split, rebalanced dataset to ``out_dir`` (see the module docstring)."""
    progress = progress or NullProgress()
    # Leftovers first (also done on opening a project): an old export put back counts as there.
    sweep_killed_exports(project.folder, project.store)
    target = check_target(
        out_dir, image_root=project.image_root, project_folder=project.folder, force=options.force
    )
    out = target.out
    plan = build_plan(project.store, options, progress=progress)
    if not plan.entries:
        excluded = report.counts(plan)["excluded"]
        raise InputError(f"nothing to export: every image was left out ({excluded})")
    if options.mode == "hardlink":
        plan.warnings.append(HARDLINK_WARNING)
        progress.message(f"warning: {HARDLINK_WARNING}")
    jobs = file_jobs(plan, project.image_root)
    try:
        run = ExportRun.start(project.folder, out)
    except OSError as exc:
        raise InputError(
            f"cannot note the export in the project folder {project.folder}: {exc.strerror or exc}"
        ) from None
    try:
        tmp = make_temp_folder(out, run)
    except OSError as exc:
        run.finish()
        raise write_error(out, exc) from None
    try:
        created_at = report.now_iso()
        files = write_images(plan, jobs, tmp, progress)
        prov = write_index_files(plan, project, tmp, files, created_at)
        pause_point("before-publish")
        export_id = record_and_publish(project.store, plan, prov, tmp, target, run)
    except ExportInterrupted:
        raise  # recorded and in place; the next command sweeps what is left
    except BaseException as exc:
        try:
            shutil.rmtree(tmp, ignore_errors=True)
        finally:  # the record stays while anything is left for the next command to sweep
            run.release() if os.path.lexists(tmp) else run.finish()
        if isinstance(exc, OSError) and _writing(exc, out, tmp):
            raise write_error(out, exc) from None
        raise
    run.finish()
    return ExportResult(export_id, out, prov, list(plan.warnings))


def _writing(exc: OSError, out: Path, tmp: Path) -> bool:
    """Whether ``exc`` failed on the export's own folders (not on reading a source image)."""
    names = [Path(os.path.abspath(os.fsdecode(n))) for n in (exc.filename, exc.filename2) if n]
    if not names:
        return exc.errno == errno.ENOSPC
    aside = f".{out.name}."  # the temporary and the moved-aside old DIR (target.py)
    return any(
        p == out or p.is_relative_to(tmp) or (p.parent == out.parent and p.name.startswith(aside))
        for p in names
    )

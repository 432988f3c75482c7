"""``export_dataset``: plan, write into a temporary folder, record, rename into place.

Sources are only read. Every file lands in a temporary folder beside DIR; only a complete export
is renamed to DIR, inside the same database transaction that records it (``exports`` row plus an
audit-log entry), so the project never records an export that is not there.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from labelaudit.core.errors import InputError
from labelaudit.core.export import indexfiles, report
from labelaudit.core.export.commit import ExportInterrupted, record_and_publish
from labelaudit.core.export.files import FileJob, place_files, sha256_file
from labelaudit.core.export.options import ExportOptions
from labelaudit.core.export.ownership import PROVENANCE, SELF_HASH, provenance_digest
from labelaudit.core.export.plan import ExportPlan, build_plan
from labelaudit.core.export.runs import ExportRun, sweep_killed_exports
from labelaudit.core.export.target import check_target, make_temp_folder, write_error
from labelaudit.core.export.testpause import pause_point
from labelaudit.core.paths import disk_path
from labelaudit.core.progress import NullProgress, Progress
from labelaudit.core.store.engine import Store, public_url

RETRAIN_SCRIPT = "retrain.py"
HARDLINK_WARNING = (
    "--mode hardlink: every exported image IS its source file (one file, two names); editing "
    "or augmenting an exported file in place changes the source"
)


class ProjectLike(Protocol):
    store: Store
    folder: Path
    image_root: Path
    project_id: str


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
    jobs = _file_jobs(plan, project.image_root)
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
        files = _write_images(plan, jobs, tmp, progress)
        prov = _write_index_files(plan, project, tmp, files, created_at)
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


def _file_jobs(plan: ExportPlan, image_root: Path) -> list[FileJob]:
    """The files to write; refuses at once if sources vanished since the last import."""
    if "imagefolder" not in plan.options.formats:
        return []
    paths, shas = plan.catalog.paths, plan.catalog.sha256
    assert paths is not None and shas is not None
    first_dest: dict[int, str] = {}
    jobs: list[FileJob] = []
    missing: list[str] = []
    for e in plan.entries:
        source = disk_path(image_root, paths[e.row])
        if e.repeat == 1:
            if not source.exists():
                missing.append(paths[e.row])
            first_dest[e.row] = e.dest
            jobs.append(FileJob(e.dest, source, shas[e.row]))
        else:
            jobs.append(FileJob(e.dest, source, shas[e.row], link_to=first_dest[e.row]))
    if missing:
        raise InputError(
            f"{len(missing)} source images are gone since the last import (e.g. {missing[0]}); "
            "run 'labelaudit import' first"
        )
    return jobs


def _write_images(
    plan: ExportPlan, jobs: list[FileJob], tmp: Path, progress: Progress
) -> dict[str, Any]:
    if "imagefolder" in plan.options.formats:
        for split in plan.split_names:  # every class folder in every split
            for folder in plan.folders.values():
                (tmp / split / folder).mkdir(parents=True, exist_ok=True)
    with progress.step("write images", total=len(jobs), unit="file"):
        written = place_files(
            jobs,
            tmp,
            mode=plan.options.mode,
            workers=min(8, (os.cpu_count() or 2) * 2),
            on_done=lambda n: progress.advance(n),
        )
    changed = sorted(w.dest for w in written.values() if w.changed_since_import)
    if changed:
        plan.warnings.append(
            f"{len(changed)} images changed on disk since the last import (e.g. {changed[0]}); "
            "their review may not fit the new content: run 'labelaudit import'"
        )
    return {
        "mode": plan.options.mode if jobs else "none",
        "portable": plan.options.mode != "symlink",
        "symlinks": "relative, to the source images: valid only where those stay"
        if plan.options.mode == "symlink" and jobs
        else None,
        "gif_converted_to_png": sum(
            1 for j in jobs if j.link_to is None and j.source.suffix.lower() == ".gif"
        ),
        "changed_since_import": changed,
        "sha256_images": {dest: w.sha256 for dest, w in sorted(written.items())},
    }


def _write_index_files(
    plan: ExportPlan, project: ProjectLike, tmp: Path, files: dict[str, Any], created_at: str
) -> dict[str, Any]:
    formats = plan.options.formats
    texts: dict[str, str] = {
        "classes.json": indexfiles.dumps(indexfiles.classes_json(plan)),
        "class_weights.json": indexfiles.dumps(indexfiles.class_weights_json(plan)),
        "CHANGES.md": report.changes_markdown(
            plan, created_at=created_at, project_name=project.folder.name
        ),
    }
    if "csv" in formats:
        texts["manifest.csv"] = indexfiles.manifest_csv(plan, image_root=project.image_root)
    if "labelstudio" in formats:
        ls = indexfiles.LABEL_STUDIO_DIR
        texts[f"{ls}/tasks.json"] = indexfiles.dumps(indexfiles.label_studio_tasks(plan))
        texts[f"{ls}/config.xml"] = indexfiles.label_studio_config(plan)
    for rel, text in texts.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text, encoding="utf-8", newline="\n")
    script = resources.files("labelaudit.export_assets").joinpath(RETRAIN_SCRIPT).read_bytes()
    (tmp / RETRAIN_SCRIPT).write_bytes(script)
    sha = dict(files.pop("sha256_images"))
    for rel in [*texts, RETRAIN_SCRIPT]:
        sha[rel] = sha256_file(tmp / rel)
    info = {
        "folder": str(project.folder),
        "id": project.project_id,
        "image_root": str(project.image_root),
        "database": public_url(project.store.url),
    }
    prov = report.provenance(
        plan, project=info, sha256=dict(sorted(sha.items())), files=files, created_at=created_at
    )
    # Hashed as it will read back from the file: tells a real provenance.json from a fake.
    prov[SELF_HASH] = provenance_digest(json.loads(indexfiles.dumps(prov)))
    (tmp / PROVENANCE).write_text(indexfiles.dumps(prov), encoding="utf-8", newline="\n")
    return prov

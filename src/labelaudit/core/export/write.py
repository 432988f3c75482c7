"""Writing an export's files into its temporary folder: the images (copies or links) and the
index files (classes, weights, manifest, CHANGES.md, review decisions, retrain.py, provenance).

``core/usecases/export.py`` runs it between planning and the atomic rename; nothing here touches
the store.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from labelaudit.core.errors import InputError
from labelaudit.core.export import decision_files, indexfiles, report
from labelaudit.core.export.files import FileJob, place_files, sha256_file
from labelaudit.core.export.ownership import PROVENANCE, SELF_HASH, provenance_digest
from labelaudit.core.export.plan import ExportPlan
from labelaudit.core.paths import disk_path
from labelaudit.core.progress import Progress
from labelaudit.core.store.engine import Store, public_url

RETRAIN_SCRIPT = "retrain.py"


class ProjectLike(Protocol):
    store: Store
    folder: Path
    image_root: Path
    project_id: str


def file_jobs(plan: ExportPlan, image_root: Path) -> list[FileJob]:
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


def write_images(
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


def write_index_files(
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
    path = plan.review.path
    if path is not None:  # who decided each image; listed with its sha256 like every file
        texts[decision_files.VOTES_FILE] = decision_files.votes_csv(path)
        texts[decision_files.DECISIONS_FILE] = decision_files.decisions_csv(
            plan, path, method=plan.review.method_used
        )
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

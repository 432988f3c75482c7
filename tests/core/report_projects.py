"""Projects in the states a report must handle, made cheaply with real components: an import, a
real ``--pred-probs`` scan (cleanlab runs; no network trains), real votes, a lead's decision and a
real export."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from export_helpers import export, make_project
from labelaudit.core.consensus.annotators import add_annotator
from labelaudit.core.consensus.resolution import resolve
from labelaudit.core.consensus.votes import cast_vote
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.project import Project
from labelaudit.core.usecases.scan import ScanRequest, run_scan

COUNTS = {"cat": 14, "dog": 14, "owl": 10}
# Planted: the given label is wrong for these (path -> the true class).
WRONG = {"cat/0001.png": "dog", "cat/0002.png": "owl", "dog/0003.png": "cat", "owl/0004.png": "dog"}
# A near-duplicate pair with different labels (same embedding): a conflict group.
TWINS = ("cat/0005.png", "owl/0005.png")


def imported(base: Path, *, db_url: str | None = None) -> Project:
    return make_project(base, COUNTS, db_url=db_url)


def scan_inputs(project: Project, folder: Path) -> tuple[Path, Path]:
    """pred_probs and embeddings .npy in the documented row order (sorted paths)."""
    catalog = load_catalog(project.store, valid_only=True)
    paths = sorted(catalog.paths or [])
    names = sorted(COUNTS)
    rng = np.random.default_rng(0)
    probs = 0.1 * rng.dirichlet(np.ones(len(names)), len(paths))
    embeddings = rng.normal(size=(len(paths), 16))
    for row, path in enumerate(paths):
        truth = WRONG.get(path, path.split("/")[0])
        probs[row, names.index(truth)] += 0.9
        embeddings[row, names.index(truth)] += 3.0  # classes cluster
    twin_rows = [paths.index(p) for p in TWINS]
    embeddings[twin_rows[1]] = embeddings[twin_rows[0]] + 1e-4
    probs_file, emb_file = folder / "probs.npy", folder / "emb.npy"
    np.save(probs_file, probs.astype(np.float32))
    np.save(emb_file, embeddings.astype(np.float32))
    return probs_file, emb_file


def scanned(base: Path, *, db_url: str | None = None) -> Project:
    project = imported(base, db_url=db_url)
    probs, emb = scan_inputs(project, base)
    run_scan(
        project.store,
        project.image_root,
        ScanRequest(pred_probs=probs, embeddings=emb, min_class_size=1),
    )
    return project


def ids_by_path(project: Project) -> dict[str, int]:
    catalog = load_catalog(project.store)
    return {p: int(i) for p, i in zip(catalog.paths or [], catalog.image_ids)}


def reviewed(base: Path) -> Project:
    """Scanned, then two annotators vote (agreeing on two planted errors, tying on one) and the
    lead settles the tie."""
    project = scanned(base)
    project.set_setting("votes_required", "2")
    for name, role in (("ann", "annotator"), ("bob", "annotator"), ("lea", "lead")):
        add_annotator(project.store, name, role=role)
    ids = ids_by_path(project)
    votes = {
        "cat/0001.png": ("dog", "dog"),
        "cat/0002.png": ("owl", "owl"),
        "dog/0003.png": ("cat", "owl"),
    }
    for path, decisions in votes.items():
        for who, decision in zip(("ann", "bob"), decisions, strict=True):
            cast_vote(
                project.store,
                annotator=who,
                image_id=ids[path],
                decision=decision,
                suggestion_shown=True,
            )
    resolve(project.store, lead="lea", image_id=ids["dog/0003.png"], decision="cat", note="tie")
    return project


def exported(base: Path) -> tuple[Project, Path]:
    project = reviewed(base)
    out = base / "export"
    export(project, out, splits=(0.6, 0.2, 0.2), unreviewed="auto-fix")
    return project, out

"""kill -9 at seeded random points of ``init``, ``import``, ``export`` and ``vote``.

Each campaign times one uninterrupted run, then kills a fresh run at a time drawn from the
seeded KillWindow (fault_common.py) and checks, after each kill: the store opens through the
project API and passes SQLite's integrity check, ``labelaudit info`` exits 0 or says one clear
line, no import is half-published, no half-written export is at the target and the next
command removes what the killed one left, every acknowledged vote is stored, and no file or
table that labelaudit did not create changed. The seed fixes the kill times; what a time hits
still depends on the machine's load, so the outcomes are counted and reported.
"""

from __future__ import annotations

import random
from pathlib import Path

import sqlalchemy as sa

from fault_checks import (
    digest_tree,
    info_check,
    store_checks,
    store_opened,
)
from fault_common import (
    Figures,
    KillWindow,
    Outcome,
    Tally,
    acknowledged,
    clean_exit,
    kill_run,
    run,
)
from fault_export import (
    check_export_target,
    export_seed,
    hidden_beside,
    plant_user_folders,
    writing,
)
from fault_setup import Scene, backend_name, db_args, images_on_disk, make_images, new_project


# -- init ------------------------------------------------------------------------------------------
def kill_init(base: Path, tally: Tally, *, db_url: str | None, kills: int, seed: int) -> Figures:
    fig = tally.new("kill -9 init", backend_name(db_url))
    rng = random.Random(f"{seed}:init")
    # 60 images of 0.5 MB: enough bytes for the import's worker pool (kill -9 must end them too)
    counts = {"cat": 24, "dog": 20, "owl": 16}
    scene = Scene.make(base, counts, db_url=db_url, seed=seed, size=(480, 360), distinct=12)
    scene.seal()
    ref_dir = base / "ref"
    ref, window = KillWindow.of(
        "init", ref_dir, "--images", scene.root, *db_args(db_url, "fi_ref"), anchor=ref_dir.exists
    )
    assert ref.rc == 0, ref.stderr
    full = images_on_disk(scene.root)
    for k in range(kills):
        folder = base / f"p{k}"
        args = ("init", folder, "--images", scene.root, *db_args(db_url, f"fi_init_{k}"))
        point, out = kill_run(window, rng, folder.exists, *args)
        violations = clean_exit(out)
        outcome = "no folder yet"
        if folder.exists():
            info, bad = info_check(folder)
            violations += bad
            paths, bad = store_checks(folder, allowed_paths=[set(), full])
            violations += bad
            if paths is None:
                outcome = "refused in one line: " + _why(info.stderr)
            elif paths == full:
                outcome = "complete"
                if out.killed and _unfinished(folder):
                    violations.append("published, but recorded as an unfinished import")
            else:
                outcome = "created, import interrupted"
                violations += _import_completes(folder, full)
        if acknowledged(out) and outcome != "complete":
            violations.append(f"init exited 0 but the project is {outcome!r}")
        violations += scene.untouched()
        label = f"init #{k} killed {point}"
        fig.case(violations, fault=out.killed, outcome=outcome, label=label)
    return fig


def _import_completes(folder: Path, full: set[str]) -> list[str]:
    """A project whose first import was killed is usable: the next import brings every image."""
    out = run("import", folder)
    _, violations = store_checks(folder, allowed_paths=[full])
    return clean_exit(out) + violations + (["import after a killed init failed"] if out.rc else [])


def _why(stderr: str) -> str:
    text = stderr.lower()
    for key, name in (("did not finish", "lock left"), ("no project.json", "no project.json")):
        if key in text:
            return name
    return "other"


# -- import ----------------------------------------------------------------------------------------
def kill_import(base: Path, tally: Tally, *, db_url: str | None, kills: int, seed: int) -> Figures:
    """Each case adds a new class folder, then kills ``labelaudit import``: the store holds the
    images before or all of them, never part of the new ones."""
    fig = tally.new("kill -9 import", backend_name(db_url))
    rng = random.Random(f"{seed}:import")
    scene = Scene.make(base, {"cat": 8, "dog": 8}, db_url=db_url, seed=seed)
    project = new_project(scene, base / "proj")
    scene.seal()
    window: KillWindow | None = None
    for k in range(kills + 1):  # case 0 runs to the end: it measures the window
        batch = {f"new{k}": 40}  # 20 MB: imported by the worker pool
        make_images(scene.root, batch, size=(480, 360), seed=seed * 1000 + k + 1, distinct=6)
        scene.digest.update(digest_tree([scene.root / f"new{k}"]))
        before, full = _paths(project), images_on_disk(scene.root)
        if window is None:
            out, window = KillWindow.of("import", project, anchor=store_opened(project))
            point = None
        else:
            point, out = kill_run(window, rng, store_opened(project), "import", project)
        violations = clean_exit(out)
        started = _unfinished(project)
        paths, bad = store_checks(project, allowed_paths=[before, full])
        violations += bad
        outcome = _import_outcome(out, paths, full, started)
        if acknowledged(out) and paths != full:
            violations.append("import exited 0 but not every new image is stored")
        if out.killed and paths == full and started:
            violations.append("published, but recorded as an unfinished import")
        violations += scene.untouched()
        label = f"import #{k} " + (f"killed {point}" if point else "ran to the end (reference)")
        fig.case(violations, fault=out.killed, outcome=outcome, label=label)
    # The next import finishes the job and clears what the killed ones staged.
    out = run("import", project)
    paths, violations = store_checks(project, allowed_paths=[images_on_disk(scene.root)])
    violations += clean_exit(out) + _leftover_staging(project) + scene.untouched()
    fig.case(violations, fault=False, outcome="final import", label="import after the kills")
    return fig


def _paths(project: Path) -> set[str]:
    paths, violations = store_checks(project)
    assert paths is not None, violations
    return paths


def _unfinished(project: Path) -> bool:
    """Whether the latest import never finished (killed after it began)."""
    from labelaudit.core.project import Project
    from labelaudit.core.store.schema import imports

    with Project.open(project) as proj, proj.store.read() as conn:
        last = conn.execute(sa.select(imports.c.finished_at).order_by(imports.c.id.desc())).first()
    return last is not None and last[0] is None


def _import_outcome(out, paths: set[str] | None, full: set[str], started: bool) -> str:
    if not out.killed:
        return "finished before the kill"
    if paths == full:
        return "killed after publishing"
    return "killed while importing" if started else "killed before it began"


def _leftover_staging(project: Path) -> list[str]:
    from labelaudit.core.project import Project
    from labelaudit.core.store.schema import import_staging

    with Project.open(project) as proj, proj.store.read() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(import_staging)).scalar_one()
    return [f"{n} staging rows of killed imports left"] if n else []


# -- export ----------------------------------------------------------------------------------------
EXPORT_KINDS = ("new folder", "--force over an export", "--force onto a user's folder")


def kill_export(base: Path, tally: Tally, *, db_url: str | None, kills: int, seed: int) -> Figures:
    """Kills exports to a new folder, over a previous export (``--force``) and onto a user's
    folder (``--force``, which must refuse). Exports get distinct seeds, so the seed in DIR's
    provenance tells which recorded export DIR holds."""
    fig = tally.new("kill -9 export", backend_name(db_url))
    rng = random.Random(f"{seed}:export")
    counts = {"cat": 24, "dog": 20, "owl": 16}
    scene = Scene.make(base, counts, db_url=db_url, seed=seed, size=(320, 240), distinct=12)
    project = new_project(scene, base / "proj")
    outs = base / "exports"
    user_folder = plant_user_folders(scene, outs)
    scene.seal()
    ref, window = KillWindow.of(
        "export",
        project,
        "--out",
        outs / "dst",
        "--seed",
        "1000",
        anchor=writing(outs / "dst"),
    )
    assert ref.rc == 0, ref.stderr
    for k in range(kills):
        kind = rng.choices(EXPORT_KINDS, weights=(3, 4, 1))[0]
        out_dir = {"new folder": outs / f"new{k}", "--force onto a user's folder": user_folder}.get(
            kind, outs / "dst"
        )
        extra = [] if kind == "new folder" else ["--force"]
        args = ("export", project, "--out", out_dir, "--seed", k, *extra)
        point, out = kill_run(window, rng, writing(out_dir), *args)
        allowed = ["--force"] if out_dir == user_folder else []
        violations = clean_exit(out, allowed=allowed)
        if out_dir == user_folder and acknowledged(out):
            violations.append("--force replaced a folder holding the user's files")
        phase = _export_phase(out, out_dir, seed=k if out_dir != user_folder else None)
        _info, bad = info_check(project)  # the next command: sweeps what the kill left
        violations += bad + check_export_target(project, out_dir, mine=out_dir != user_folder)
        violations += store_checks(project)[1] + scene.untouched()
        fig.case(
            violations,
            fault=out.killed,
            outcome=f"{kind}: {phase}",
            label=f"export #{k} killed {point}",
        )
    return fig


def _export_phase(out: Outcome, out_dir: Path, *, seed: int | None) -> str:
    """Where the kill landed, seen before the next command cleans up."""
    if not out.killed:
        return "finished" if out.rc == 0 else "refused"
    if (
        seed is not None
        and (out_dir / "provenance.json").is_file()
        and export_seed(out_dir) == seed
    ):
        return "killed after publishing"
    return "killed while writing" if hidden_beside(out_dir) else "killed before writing"

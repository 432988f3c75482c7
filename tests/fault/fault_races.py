"""Two real processes at once: two ``init`` of one folder, two exports to one folder (one
project, two projects), a folder appearing at an export's target, votes from two processes on
the same images. Start offsets and delays are drawn from a seeded generator."""

from __future__ import annotations

import random
import time
from pathlib import Path

from fault_checks import info_check, open_project, sqlite_integrity, stored_paths
from fault_common import (
    Figures,
    KillWindow,
    Tally,
    acknowledged,
    clean_exit,
    finish,
    run,
    spawn,
    together,
)
from fault_export import (
    check_export_target,
    hidden_beside,
    plant_user_folders,
    recorded_seeds,
    writing,
)
from fault_setup import Scene, backend_name, db_args, images_on_disk, new_project

# -- init ------------------------------------------------------------------------------------------
INIT_REFUSALS = ["another 'labelaudit init'", "already a labelaudit project", "not an empty folder"]


def race_init(base: Path, tally: Tally, *, db_url: str | None, rounds: int, seed: int) -> Figures:
    """One wins; the other is refused in one line that never tells the user to remove the
    winner's folder; the winner's project is whole."""
    fig = tally.new("race: two init, one folder", backend_name(db_url))
    rng = random.Random(f"{seed}:race-init")
    scene = Scene.make(base, {"cat": 10, "dog": 10}, db_url=db_url, seed=seed)
    scene.seal()
    full = images_on_disk(scene.root)
    for r in range(rounds):
        folder = base / f"p{r}"
        args = ("init", folder, "--images", scene.root, *db_args(db_url, f"fi_race_{r}"))
        outs = together(rng, args, args)
        winners = [o for o in outs if acknowledged(o)]
        violations = [f"{len(winners)} of 2 init runs succeeded"] if len(winners) != 1 else []
        for out in outs:
            violations += clean_exit(out, allowed=INIT_REFUSALS)
        project, bad = open_project(folder)
        violations += bad
        if project is None:
            violations.append("the winner's project does not open")
        else:
            if stored_paths(project) != full:
                violations.append("the winner's project lost images")
            project.close()  # type: ignore[attr-defined]
        if (folder / ".labelaudit-init.lock").exists():
            violations.append("the init lock file was left")
        violations += info_check(folder)[1] + sqlite_integrity(folder) + scene.untouched()
        loser = next((o for o in outs if not acknowledged(o)), None)
        outcome = "loser: " + (_refusal(loser.stderr) if loser else "none")
        fig.case(violations, fault=True, outcome=outcome, label=f"init race #{r}")
    return fig


REFUSALS = {  # a refusal's words: its name in the figures
    "another 'labelaudit init'": "init running",
    "already a labelaudit project": "already a project",
    "not an empty folder": "folder not empty",
    "appeared while exporting": "DIR appeared",
    "changed while exporting": "the export it replaces changed",
    "exists": "DIR exists",
    "locked": "store locked",
}


def _refusal(stderr: str) -> str:
    return next((name for key, name in REFUSALS.items() if key in stderr), stderr.strip()[-80:])


# -- exports ---------------------------------------------------------------------------------------
def race_exports(
    base: Path, tally: Tally, *, two_projects: bool, rounds: int, seed: int
) -> Figures:
    """Two exports to one new folder: exactly one succeeds, the folder holds its whole export
    and only its store records it; with ``--force`` over a previous export (one project,
    every other round), each success replaced a whole export by a whole export."""
    name = "race: two exports, " + ("two projects" if two_projects else "one project")
    fig = tally.new(name, "sqlite")
    rng = random.Random(f"{seed}:race-export:{two_projects}")
    scene = Scene.make(base, {"cat": 12, "dog": 10}, db_url=None, seed=seed)
    first = new_project(scene, base / "a")
    second = new_project(scene, base / "b") if two_projects else first
    plant_user_folders(scene, base / "exports")
    scene.seal()
    for r in range(rounds):
        out_dir = base / "exports" / f"r{r}"
        force = not two_projects and r % 2 == 1
        extra: list[object] = ["--force"] if force else []
        if force:  # the previous export that both replace
            assert run("export", first, "--out", out_dir, "--seed", 1000 + r).rc == 0
        seeds = (2 * r, 2 * r + 1)
        outs = together(
            rng,
            ("export", first, "--out", out_dir, "--seed", seeds[0], *extra),
            ("export", second, "--out", out_dir, "--seed", seeds[1], *extra),
        )
        won = [acknowledged(o) for o in outs]
        violations = [] if force or sum(won) == 1 else [f"{sum(won)} of 2 exports succeeded"]
        for out in outs:
            violations += clean_exit(out, allowed=[] if force else ["exists", "appeared while"])
        for project in {first, second}:
            violations += info_check(project)[1]  # the next command sweeps
        if two_projects:
            violations += _two_project_target(first, second, out_dir, won)
        else:
            violations += check_export_target(first, out_dir, mine=True)
        violations += scene.untouched()
        outcome = "--force: " if force else ""
        outcome += f"{sum(won)} succeeded" + (
            f", loser: {_refusal(outs[won.index(False)].stderr)}" if False in won else ""
        )
        fig.case(violations, fault=True, outcome=outcome, label=f"{name} #{r}")
    return fig


def _two_project_target(first: Path, second: Path, out_dir: Path, won: list[bool]) -> list[str]:
    if sum(won) != 1:
        return []  # reported already
    winner, loser = (first, second) if won[0] else (second, first)
    violations = check_export_target(winner, out_dir, mine=True)
    if recorded_seeds(loser, out_dir):
        violations.append("the losing project recorded an export it did not make")
    return violations


def race_export_vs_folder(base: Path, tally: Tally, *, rounds: int, seed: int) -> Figures:
    """A folder (with the user's files) appears at DIR at a seeded moment of an export: if it
    was first, the export refuses in one line and leaves it as it is; else the export won."""
    fig = tally.new("race: a folder appears at DIR", "sqlite")
    rng = random.Random(f"{seed}:race-folder")
    scene = Scene.make(base, {"cat": 24, "dog": 20}, db_url=None, seed=seed)
    project = new_project(scene, base / "proj")
    outs = base / "exports"
    plant_user_folders(scene, outs)
    scene.seal()
    ref_dir = outs / "ref"
    _, window = KillWindow.of("export", project, "--out", ref_dir, anchor=writing(ref_dir))
    for r in range(rounds):
        out_dir = outs / f"r{r}"
        started = time.monotonic()
        proc = spawn("export", project, "--out", out_dir, "--seed", r)
        while proc.poll() is None and not hidden_beside(out_dir):
            time.sleep(0.002)
        # Every other round early in the export's work (the folder is likely first), else
        # anywhere up to its end (the export is likely first): both outcomes get tested.
        time.sleep(rng.uniform(0, window.work_s * (0.3 if r % 2 == 0 else 1.1)))
        made = _user_makes(out_dir, f"round {r}")
        out = finish(proc, started=started)
        violations = info_check(project)[1]
        if made is not None:
            violations += clean_exit(out, allowed=["appeared while exporting", "exists"])
            if out.rc == 0:
                violations.append("the export succeeded over a folder that appeared")
            if _read_all(out_dir) != made:
                violations.append("the folder that appeared was changed")
            if recorded_seeds(project, out_dir):
                violations.append("an export to the folder that appeared was recorded")
            violations += [f"left {h}" for h in hidden_beside(out_dir)]
        else:
            violations += check_export_target(project, out_dir, mine=True)
            if out.rc != 0:
                violations.append(f"the export failed: {out.stderr.strip()}")
        violations += scene.untouched()
        outcome = "folder first, export refused" if made is not None else "export first"
        fig.case(violations, fault=True, outcome=outcome, label=f"folder race #{r}")
    return fig


def _user_makes(folder: Path, tag: str) -> dict[str, bytes] | None:
    """``mkdir DIR; echo precious > DIR/thesis.txt``; None where DIR was there already."""
    try:
        folder.mkdir()
    except FileExistsError:
        return None
    (folder / "thesis.txt").write_text(f"precious ({tag})\n")
    (folder / "best.pt").write_bytes(b"\x80weights" * 100)
    return _read_all(folder)


def _read_all(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}

"""Export targets under faults: the user's folders planted around them and the checks made
after each fault (no half-written DIR, nothing hidden left behind, DIR and store in step)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from fault_checks import plant_sentinels
from fault_setup import Scene

LOOKALIKE_TAIL = "-1-abcd"  # a hidden folder named like an export's, made by the user


def plant_user_folders(scene: Scene, outs: Path) -> Path:
    """Beside the export targets: the user's files, a hidden folder that looks like a killed
    export's, and a folder with a hand-made one-line provenance.json (``--force`` must refuse
    it); returns that folder. All of it is watched."""
    from labelaudit.core.export.runs import safe_host

    scene.watch(*plant_sentinels(outs, "beside the exports"))
    lookalike = outs / f".dst.labelaudit-old-{safe_host()}{LOOKALIKE_TAIL}"
    lookalike.mkdir()
    (lookalike / "mine.txt").write_text("not labelaudit's\n")
    user = outs / "mine"
    plant_sentinels(user, "a user's folder")
    (user / "provenance.json").write_text('{"labelaudit_version": "0.1.0", "files": {}}\n')
    scene.watch(lookalike, user)
    return user


def hidden_beside(out_dir: Path) -> list[str]:
    """Hidden entries labelaudit may have made beside DIR (the user's look-alike excluded)."""
    if not out_dir.parent.is_dir():
        return []
    prefix = f".{out_dir.name}."
    return sorted(
        p.name
        for p in out_dir.parent.iterdir()
        if p.name.startswith(prefix) and not p.name.endswith(LOOKALIKE_TAIL)
    )


def writing(out_dir: Path) -> Callable[[], bool]:
    """The sign that an export to ``out_dir`` began writing: its hidden temporary folder."""
    return lambda: bool(hidden_beside(out_dir))


def recorded_seeds(project: Path, out_dir: Path) -> list[int]:
    """The seeds of the exports the project recorded to ``out_dir``, oldest first."""
    from labelaudit.core.project import Project
    from labelaudit.core.store.schema import exports

    with Project.open(project) as proj, proj.store.read() as conn:
        rows = conn.execute(
            sa.select(exports.c.params)
            .where(exports.c.out_dir == str(out_dir))
            .order_by(exports.c.id)
        ).scalars()
        return [int(json.loads(p)["seed"]) for p in rows]


def export_seed(out_dir: Path) -> int:
    return int(json.loads((out_dir / "provenance.json").read_text())["options"]["seed"])


def check_export_target(project: Path, out_dir: Path, *, mine: bool) -> list[str]:
    """After the next command on the project: DIR is absent or one whole export, the one the
    store recorded last for DIR; nothing hidden is left beside it; no run record is left."""
    from labelaudit.core.errors import LabelauditError
    from labelaudit.core.export.ownership import verify_previous_export

    violations = [f"left {name} beside {out_dir.name}" for name in hidden_beside(out_dir)]
    runs = project / "export-runs"
    if runs.is_dir() and list(runs.glob("*.json")):
        violations.append(f"run records left: {sorted(p.name for p in runs.glob('*.json'))}")
    seeds = recorded_seeds(project, out_dir)
    if not mine:
        return violations + ([f"an export to the user's {out_dir} was recorded"] if seeds else [])
    if not out_dir.exists():
        return violations + ([f"recorded exports {seeds} but {out_dir} is gone"] if seeds else [])
    try:
        verify_previous_export(out_dir)
    except LabelauditError as exc:
        return [*violations, f"{out_dir} is not one whole export: {exc}"]
    seed = export_seed(out_dir)
    if not seeds or seeds[-1] != seed:
        violations.append(f"{out_dir} holds the export of seed {seed}; the store says {seeds}")
    return violations

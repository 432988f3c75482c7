"""Import workers under faults: a worker killed from outside with SIGKILL at a seeded moment
(as the kernel's OOM killer would), a file that kills every worker reading it (the test hook of
src/labelaudit/core/dataset/workers.py), and an address-space limit with one image too big to
decode. The import must finish, or fail in one line, and never hang; the store stays whole."""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import time
from pathlib import Path

from PIL import Image

from fault_checks import info_check, open_project, sqlite_integrity, stored_paths
from fault_common import (
    PROCESS_TIMEOUT_S,
    Figures,
    Outcome,
    Tally,
    children,
    clean_exit,
    finish,
    outliving,
    spawn,
)
from fault_setup import Scene, images_on_disk

MEMORY_LIMIT = 600 * 2**20  # address space: enough for the CLI, not for a 170 MB decode


def _pool_scene(base: Path, seed: int) -> Scene:
    """Enough small images for the import's worker pool, plus four large flat PNGs (a few
    tenths of a second of decoding each, little on disk) that keep the workers busy."""
    from labelaudit.core.dataset.workers import POOL_MIN_FILES

    half = POOL_MIN_FILES // 2 + 8
    scene = Scene.make(base, {"a": half, "b": half}, db_url=None, seed=seed)
    first = scene.root / "a" / "slow_0.png"
    Image.new("RGB", (3000, 3000), (90, 140, 30)).save(first, compress_level=1)
    for k in range(1, 4):
        shutil.copy(first, scene.root / "ab"[k % 2] / f"slow_{k}.png")
    scene.seal()
    return scene


def _import_checks(folder: Path, out: Outcome, full: set[str], *, allowed: set[str]) -> list[str]:
    """Finished (every file stored; problems only of the ``allowed`` kinds) or one clear line."""
    violations = clean_exit(out)
    if out.rc == 0:
        report = json.loads(out.stdout)
        if set(report["problems"]) - allowed:
            violations.append(f"unexpected problems {report['problems']}")
    project, bad = open_project(folder)
    violations += bad
    if project is not None:
        if out.rc == 0 and stored_paths(project) != full:
            violations.append("the import exited 0 without storing every file")
        project.close()  # type: ignore[attr-defined]
    return violations + info_check(folder)[1] + sqlite_integrity(folder)


def dead_worker(base: Path, tally: Tally, *, cases: int, seed: int) -> Figures:
    """``init --workers 2`` while 1 or 2 of its workers are SIGKILLed at seeded moments."""
    fig = tally.new("import worker killed (SIGKILL)", "sqlite")
    rng = random.Random(f"{seed}:workers")
    scene = _pool_scene(base, seed)
    full = images_on_disk(scene.root)
    for k in range(cases):
        folder = base / f"p{k}"
        started = time.monotonic()
        proc = spawn("init", folder, "--images", scene.root, "--workers", "2", "--json")
        killed, seen = 0, set()
        for _ in range(rng.choice([1, 1, 2])):
            workers = _wait_for_workers(proc.pid, proc.poll, started)
            time.sleep(rng.uniform(0.0, 0.4))
            live = [w for w in workers if w in children(proc.pid)]
            seen.update(workers)
            if live and proc.poll() is None:
                os.kill(rng.choice(sorted(live)), signal.SIGKILL)
                killed += 1
        out = finish(proc, started=started)
        violations = _import_checks(folder, out, full, allowed={"worker_crashed"})
        violations += [f"workers {p} outlived the import" for p in outliving(seen)]
        violations += scene.untouched()
        outcome = f"{killed} killed, " + ("finished" if out.rc == 0 else "failed in one line")
        fig.case(violations, fault=killed, outcome=outcome, label=f"worker kill #{k}")
    _crash_hook_case(base, scene, fig, full)
    return fig


def _wait_for_workers(pid: int, poll, started: float) -> list[int]:
    while time.monotonic() - started < PROCESS_TIMEOUT_S and poll() is None:
        kids = children(pid)
        if len(kids) >= 2:
            return kids
        time.sleep(0.01)
    return []


def _crash_hook_case(base: Path, scene: Scene, fig: Figures, full: set[str]) -> None:
    """A file that kills each worker that reads it: recorded as worker_crashed, the rest kept."""
    from labelaudit.core.dataset.workers import CRASH_ENV, MAX_CRASHES

    folder = base / "hooked"
    started = time.monotonic()
    proc = spawn(
        "init",
        folder,
        "--images",
        scene.root,
        "--workers",
        "2",
        "--json",
        env={CRASH_ENV: "0007.png"},
    )
    out = finish(proc, started=started)
    violations = _import_checks(folder, out, full, allowed={"worker_crashed"})
    if out.rc == 0 and json.loads(out.stdout)["problems"] != {"worker_crashed": 2}:
        violations.append(f"a/0007.png, b/0007.png not worker_crashed: {out.stdout[:300]}")
    violations += scene.untouched()
    outcome = "a killer file: worker_crashed"  # two files, each killing MAX_CRASHES workers
    fig.case(violations, fault=2 * MAX_CRASHES, outcome=outcome, label="worker crash hook")


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def memory_limit(base: Path, tally: Tally, *, seed: int) -> Figures:
    """One image too big to decode under RLIMIT_AS is that file's problem; the rest import."""
    fig = tally.new("memory limit on one file", "sqlite")
    scene = Scene.make(base, {"a": 3, "b": 3}, db_url=None, seed=seed)
    # 170 MB to decode, under 1 MB on disk, under the default pixel limit.
    Image.new("RGBA", (6500, 6500), (10, 200, 30, 255)).save(
        scene.root / "b" / "huge.png", compress_level=1
    )
    scene.seal()
    folder = base / "proj"
    started = time.monotonic()
    proc = spawn(
        "init",
        folder,
        "--images",
        scene.root,
        "--json",
        env={"OPENBLAS_NUM_THREADS": "1"},  # BLAS buffers per thread count against the limit
        preexec_fn=_limit_memory,
    )
    out = finish(proc, started=started)
    full = images_on_disk(scene.root)
    violations = _import_checks(folder, out, full, allowed={"out_of_memory", "too_large"})
    if out.rc == 0:
        report = json.loads(out.stdout)
        if report["new"] != len(full) or sum(report["problems"].values()) != 1:
            violations.append(f"not 6 images kept and huge.png the one problem: {report}")
        elif not any(p.startswith("b/huge.png") for p in report["problem_paths"]):
            violations.append(f"the problem is not huge.png: {report['problem_paths']}")
    else:
        violations.append("the import failed on one file too big for memory")
    violations += scene.untouched()
    outcome = "finished, one problem" if out.rc == 0 else "failed"
    fig.case(violations, fault=True, outcome=outcome, label="RLIMIT_AS + a huge image")
    return fig

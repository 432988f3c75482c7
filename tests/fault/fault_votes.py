"""Votes under faults: ``vote`` and ``votes import`` killed with SIGKILL at seeded points, and
votes from several processes at once on the same images. Every vote that the CLI acknowledged
(exit 0) must be stored, and a ``votes import`` stores all of its rows or none."""

from __future__ import annotations

import csv
import dataclasses
import io
import random
from pathlib import Path

import sqlalchemy as sa

from fault_checks import (
    VOTE_ID,
    current_vote_ids,
    info_check,
    store_checks,
    store_opened,
    vote_ids,
    write_votes_csv,
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
    together,
)
from fault_setup import Scene, backend_name, images_on_disk, new_project

ROWS_PER_IMPORT = 30


def _voting_project(
    base: Path, *, db_url: str | None, seed: int, names: list[str]
) -> tuple[Scene, Path, list[str], list[str]]:
    """(scene, project, image paths, class names) with ``names`` registered as annotators."""
    from labelaudit.core.consensus.annotators import add_annotator
    from labelaudit.core.project import Project

    scene = Scene.make(base, {"cat": 6, "dog": 6, "owl": 6}, db_url=db_url, seed=seed)
    project = new_project(scene, base / "proj")
    with Project.open(project) as proj:
        for name in names:
            add_annotator(proj.store, name)
        classes = proj.class_names()
    scene.seal()
    return scene, project, sorted(images_on_disk(scene.root)), classes


def kill_vote(base: Path, tally: Tally, *, db_url: str | None, kills: int, seed: int) -> Figures:
    """Kills ``vote`` and ``votes import``; checks after each kill and a ``votes export`` at the
    end that holds every acknowledged vote."""
    fig = tally.new("kill -9 vote / votes import", backend_name(db_url))
    rng = random.Random(f"{seed}:vote")
    names = [f"a{k}" for k in range(kills + 1)]
    scene, project, paths, classes = _voting_project(base, db_url=db_url, seed=seed, names=names)
    decisions = [*classes, "keep", "drop", "unsure"]

    def import_file(tag: str) -> tuple[Path, list[str]]:
        csv_file = base / f"votes_{tag}.csv"
        annotators = [f"imp{tag}_{n}" for n in range(3)]  # new names: registered by the import
        ids = write_votes_csv(
            csv_file,
            annotators=annotators,
            paths=paths,
            labels=decisions,
            n=ROWS_PER_IMPORT,
            rng=rng,
        )
        return csv_file, ids

    opened = store_opened(project)
    ref_vote, vote_window = KillWindow.of(
        "vote", project, "--annotator", names[-1], paths[0], "keep", anchor=opened
    )
    csv_ref, kept_ids = import_file("ref")
    ref_import, import_window = KillWindow.of("votes", "import", project, csv_ref, anchor=opened)
    assert ref_vote.rc == 0 and ref_import.rc == 0, ref_vote.stderr + ref_import.stderr
    # A vote's transaction is a few milliseconds, and the store's sign of work comes just before
    # it: kill points timed from the spawn, across the measured start-up and run, spread better.
    vote_window = dataclasses.replace(vote_window, has_sign=False)
    import_window = dataclasses.replace(import_window, has_sign=False)
    kept = set(kept_ids) | _acknowledged_ids(ref_vote, [])
    for k in range(kills):
        ids: list[str] = []
        if rng.random() < 0.5:
            kind, window = "vote", vote_window
            choice = (rng.choice(paths), rng.choice(decisions))
            args: tuple[object, ...] = ("vote", project, "--annotator", names[k], *choice)
        else:
            kind, window = "votes import", import_window
            csv_file, ids = import_file(str(k))
            args = ("votes", "import", project, csv_file)
        point, out = kill_run(window, rng, opened, *args)
        violations = clean_exit(out)
        kept |= _acknowledged_ids(out, ids)
        if kind == "vote" and acknowledged(out) and not VOTE_ID.search(out.stdout):
            violations.append(f"vote exited 0 without naming its vote: {out.stdout!r}")
        stored = vote_ids(project)
        violations += [f"acknowledged vote {v} lost" for v in sorted(kept - stored)[:5]]
        if ids and 0 < len(set(ids) & stored) < len(ids):
            violations.append(f"votes import half-stored: {len(set(ids) & stored)} of {len(ids)}")
        violations += store_checks(project)[1] + scene.untouched()
        landed = set(ids) <= stored if ids else _has_voted(project, names[k])
        outcome = f"{kind}: " + (
            "finished" if not out.killed else "killed after storing" if landed else "killed"
        )
        fig.case(violations, fault=out.killed, outcome=outcome, label=f"{kind} #{k} killed {point}")
    export = run("votes", "export", project)
    exported = {row["vote_id"] for row in csv.DictReader(io.StringIO(export.stdout))}
    missing = sorted((kept & current_vote_ids(project)) - exported)
    violations = clean_exit(export) + [f"current vote {v} not exported" for v in missing]
    violations += info_check(project)[1]
    fig.case(violations, fault=False, outcome="votes export", label="votes export after the kills")
    return fig


def _acknowledged_ids(out: Outcome, ids: list[str]) -> set[str]:
    """The votes a process acknowledged: a whole import's, or the id ``vote`` printed."""
    if not acknowledged(out):
        return set()
    found = VOTE_ID.search(out.stdout)
    return set(ids) if ids else {found.group(1)} if found else set()


def _has_voted(project: Path, annotator: str) -> bool:
    from labelaudit.core.project import Project
    from labelaudit.core.store.schema import annotators, votes

    query = (
        sa.select(sa.func.count())
        .select_from(votes.join(annotators))
        .where(annotators.c.name == annotator)
    )
    with Project.open(project) as proj, proj.store.read() as conn:
        return bool(conn.execute(query).scalar_one())


def race_votes(base: Path, tally: Tally, *, db_url: str | None, rounds: int, seed: int) -> Figures:
    """Two ``votes import`` (the same annotators on the same images) and two ``vote`` (one
    annotator, one image) at once: every acknowledged vote is stored, a refused import stored
    nothing, and the store stays whole."""
    fig = tally.new("race: votes from two processes", backend_name(db_url))
    rng = random.Random(f"{seed}:race-votes")
    scene, project, paths, classes = _voting_project(base, db_url=db_url, seed=seed, names=["lena"])
    for r in range(rounds):
        files = []
        for side in "ab":
            csv_file = base / f"race_votes_{r}{side}.csv"
            ids = write_votes_csv(
                csv_file,
                annotators=["ann0", "ann1", "ann2"],
                paths=paths,
                labels=classes,
                n=60,
                rng=rng,
            )
            files.append((csv_file, ids))
        image = rng.choice(paths)
        outs = together(
            rng,
            ("votes", "import", project, files[0][0]),
            ("votes", "import", project, files[1][0]),
            ("vote", project, "--annotator", "lena", image, classes[0]),
            ("vote", project, "--annotator", "lena", image, classes[1]),
        )
        stored = vote_ids(project)
        violations = [v for out in outs for v in clean_exit(out)]
        for out, (_, ids) in zip(outs[:2], files, strict=True):
            kept = len(set(ids) & stored)
            if acknowledged(out) and kept != len(ids):
                violations.append(f"an acknowledged import kept {kept} of {len(ids)} votes")
            if not acknowledged(out) and kept:
                violations.append(f"a refused import stored {kept} votes")
        for out in outs[2:]:
            if _acknowledged_ids(out, []) - stored or (
                acknowledged(out) and not VOTE_ID.search(out.stdout)
            ):
                violations.append(f"an acknowledged vote is not stored: {out.stdout.strip()!r}")
        violations += store_checks(project)[1] + scene.untouched()
        outcome = f"{sum(acknowledged(o) for o in outs)} of 4 acknowledged"
        fig.case(violations, fault=True, outcome=outcome, label=f"vote race #{r}")
    return fig

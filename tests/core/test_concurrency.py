"""Eight annotators voting at once on each backend: every vote stored once, consensus as serial."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from helpers import make_tree
from labelaudit.core.consensus import annotators as reg
from labelaudit.core.consensus.outcome import review_outcomes
from labelaudit.core.consensus.votes import VoteRequest, cast_votes
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.project import Project
from labelaudit.core.store.schema import votes
from vote_load import plan, run_load

PROCESSES = 8
VOTES_EACH = 500


def _project(folder: Path, root: Path, db_url: str | None) -> Project:
    project = Project.create(folder, root, db_url=db_url)
    project.import_images(workers=1)
    for k in range(PROCESSES):
        reg.add_annotator(project.store, f"a{k}")
    project.set_setting("votes_required", "2")
    return project


def _outcomes_by_path(project: Project, method: str) -> dict[str, tuple]:
    out = review_outcomes(project.store, method=method)
    paths = load_catalog(project.store).paths or []
    return {
        path: (str(s), int(f), int(n), bool(lead), round(float(q), 6) if q == q else None)
        for path, s, f, n, lead, q in zip(
            paths,
            out.state,
            out.final_class,
            out.n_votes,
            out.needs_lead,
            out.consensus_quality,
            strict=True,
        )
    }


@pytest.mark.slow
def test_concurrent_votes_are_stored_once_and_match_a_serial_run(
    tmp_path: Path, backend: str | None
) -> None:
    root = make_tree(tmp_path / "images", {"cat": 12, "dog": 12, "owl": 12})
    project = _project(tmp_path / "concurrent", root, backend)
    image_ids = [int(i) for i in load_catalog(project.store).image_ids]
    plans = {
        f"a{k}": plan(f"a{k}", VOTES_EACH, image_ids, project.class_names(), seed=1)
        for k in range(PROCESSES)
    }
    folder = project.folder
    project.close()  # the workers open it themselves

    load = run_load(folder, plans)

    project = Project.open(folder)
    with project.store.read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(votes)).scalar()
        distinct = conn.execute(sa.select(sa.func.count(sa.distinct(votes.c.id)))).scalar()
    assert distinct == PROCESSES * VOTES_EACH and total == PROCESSES * VOTES_EACH
    assert load.injected >= PROCESSES * VOTES_EACH // 8 and load.resent > 0

    serial = _project(tmp_path / "serial", root, None)  # the reference: one writer, SQLite
    requests = [
        VoteRequest(name, image_id, decision, vote_id=vote_id)
        for name, votes_planned in plans.items()
        for vote_id, image_id, decision in votes_planned
    ]
    cast_votes(serial.store, requests)
    for method in ("majority", "dawid-skene"):
        assert _outcomes_by_path(project, method) == _outcomes_by_path(serial, method)
    rate = PROCESSES * VOTES_EACH / load.wall_s
    p99 = float(np.percentile(load.latencies_s, 99)) * 1000
    print(f"\n{(backend and 'postgres') or 'sqlite'}: {rate:.0f} votes/s, p99 {p99:.1f} ms")
    project.close()
    serial.close()

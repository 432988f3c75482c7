"""kill -9 at seeded random points of init, import, export and vote (fault_kills.py,
fault_votes.py): after each kill the store is whole, nothing half-published or half-written is
left, every acknowledged vote is kept and nothing labelaudit did not create changed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fault_common import Figures, Tally
from fault_kills import kill_export, kill_import, kill_init
from fault_votes import kill_vote

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL"),
    pytest.mark.slow,  # 6 to 15 s each on a quiet 2-core machine, more on a busy one
]

KILLS = {"sqlite": 6, "postgres": 3}


def survived(fig: Figures, *, kills: int) -> None:
    assert fig.failures == [], "\n".join(fig.failures)
    assert fig.survived == fig.cases
    # Kill points fall inside the command's run (a run that ends first under a changing load is
    # no fault): the campaign tested something.
    assert fig.faults >= max(1, kills // 3), fig.outcomes


def test_kill_9_during_init(tmp_path: Path, backend: str | None, tally: Tally, seed: int) -> None:
    kills = KILLS["sqlite" if backend is None else "postgres"]
    survived(kill_init(tmp_path, tally, db_url=backend, kills=kills, seed=seed), kills=kills)


def test_kill_9_during_import(tmp_path: Path, tally: Tally, seed: int) -> None:
    kills = KILLS["sqlite"]
    survived(kill_import(tmp_path, tally, db_url=None, kills=kills, seed=seed), kills=kills)


def test_kill_9_during_export(tmp_path: Path, tally: Tally, seed: int) -> None:
    kills = KILLS["sqlite"]
    survived(kill_export(tmp_path, tally, db_url=None, kills=kills, seed=seed), kills=kills)


def test_kill_9_during_vote(tmp_path: Path, backend: str | None, tally: Tally, seed: int) -> None:
    kills = KILLS["sqlite" if backend is None else "postgres"]
    survived(kill_vote(tmp_path, tally, db_url=backend, kills=kills, seed=seed), kills=kills)

"""Two real processes at once (fault_races.py, fault_votes.py): two init of one folder, two
exports to one folder, a folder appearing at an export's target, votes at once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fault_common import Figures, Tally
from fault_races import race_export_vs_folder, race_exports, race_init
from fault_votes import race_votes

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX renames and signals")


def survived(fig: Figures) -> None:
    assert fig.failures == [], "\n".join(fig.failures)
    assert fig.survived == fig.cases > 0


def test_two_inits_of_one_folder(tmp_path: Path, tally: Tally, seed: int) -> None:
    survived(race_init(tmp_path, tally, db_url=None, rounds=3, seed=seed))


@pytest.mark.parametrize("two_projects", [False, True], ids=["one project", "two projects"])
def test_two_exports_to_one_folder(
    tmp_path: Path, tally: Tally, seed: int, two_projects: bool
) -> None:
    survived(race_exports(tmp_path, tally, two_projects=two_projects, rounds=2, seed=seed))


def test_a_folder_appearing_at_the_target_of_an_export(
    tmp_path: Path, tally: Tally, seed: int
) -> None:
    survived(race_export_vs_folder(tmp_path, tally, rounds=3, seed=seed))


def test_votes_from_two_processes_on_the_same_images(
    tmp_path: Path, backend: str | None, tally: Tally, seed: int
) -> None:
    survived(race_votes(tmp_path, tally, db_url=backend, rounds=1, seed=seed))

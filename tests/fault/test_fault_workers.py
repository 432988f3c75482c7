"""Import workers under faults (fault_workers.py): killed from outside, killed by a file, and a
memory limit on one file. The import finishes or fails in one line, never hangs."""

from __future__ import annotations

from pathlib import Path

import pytest

from fault_common import Tally
from fault_workers import dead_worker, memory_limit
from labelaudit.core.dataset.workers import MAX_CRASHES

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds workers in /proc")


def test_killed_import_workers_never_hang_or_break_the_import(
    tmp_path: Path, tally: Tally, seed: int
) -> None:
    fig = dead_worker(tmp_path, tally, cases=2, seed=seed)
    assert fig.failures == [], "\n".join(fig.failures)
    assert fig.survived == fig.cases
    assert fig.faults - 2 * MAX_CRASHES >= 1  # a worker killed from outside, beside the hook's


def test_a_memory_limit_on_one_file_is_that_files_problem(
    tmp_path: Path, tally: Tally, seed: int
) -> None:
    fig = memory_limit(tmp_path, tally, seed=seed)
    assert fig.failures == [], "\n".join(fig.failures)

"""./scripts/test's plan for pytest-xdist workers (tests/xdist_plan.py): what shares a worker."""

from __future__ import annotations

from functools import partial

import pytest

from xdist_plan import shared_unit


def test_the_fault_suite_and_modules_with_module_fixtures_each_run_in_one_worker(
    pytestconfig: pytest.Config,
) -> None:
    scope = partial(shared_unit, root=pytestconfig.rootpath)
    fault = {
        scope("tests/fault/test_fault_kills.py::test_kill_9_during_init[sqlite]"),
        scope("tests/fault/test_fault_races.py::test_two_inits_of_one_folder"),
        scope("tests/fault/test_fault_import_record.py::test_x[postgres]"),
    }
    assert fault == {"tests/fault/"}
    # test_scan_cli.py builds a project once for its bad-input cases (scope="module")
    module = {
        scope("tests/cli/test_scan_cli.py::test_stale_scan_is_reported"),
        scope("tests/cli/test_scan_cli.py::test_bad_pred_probs_are_one_error_line[nan]"),
    }
    assert module == {"tests/cli/test_scan_cli.py"}
    assert scope("tests/core/test_codes.py::test_stored_code_values_are_frozen") is None
    assert scope("tests/nowhere.py::test_x") is None  # a unit of its own

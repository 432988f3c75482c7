"""The fault-injection suite (issue 10): one tally of every campaign, printed after the tests.

``LABELAUDIT_FAULT_SEED`` (default 10) seeds every campaign; scripts/fault_injection.py runs
the same campaigns bigger.
"""

from __future__ import annotations

import os

import pytest

from fault_common import Tally

SEED = int(os.environ.get("LABELAUDIT_FAULT_SEED", "10"))
_TALLY = Tally()


@pytest.fixture(scope="session")
def tally() -> Tally:
    return _TALLY


@pytest.fixture(scope="session")
def seed() -> int:
    return SEED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _TALLY.rows:
        terminalreporter.section(f"fault injection (seed {SEED})")
        terminalreporter.write_line(_TALLY.table())

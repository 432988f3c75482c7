"""The fault-injection suite (issue 10): one tally of every campaign, printed after the tests.

``LABELAUDIT_FAULT_SEED`` (default 10) seeds every campaign; scripts/fault_injection.py runs
the same campaigns bigger. Under pytest-xdist this folder runs in one worker (tests/xdist_plan.py),
which hands its table to the main process (tests/conftest.py).
"""

from __future__ import annotations

import os

import pytest

from fault_common import Tally

SEED = int(os.environ.get("LABELAUDIT_FAULT_SEED", "10"))
_TALLY = Tally()
TITLE = f"fault injection (seed {SEED})"


@pytest.fixture(scope="session")
def tally() -> Tally:
    return _TALLY


@pytest.fixture(scope="session")
def seed() -> int:
    return SEED


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker: the table goes to the main process, which prints it."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None and _TALLY.rows:
        output["summary_sections"] = [(TITLE, _TALLY.table())]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _TALLY.rows:
        terminalreporter.section(TITLE)
        terminalreporter.write_line(_TALLY.table())

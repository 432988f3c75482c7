"""A test-only hook that stops an export at a named point, so races can be tested exactly.

With ``LABELAUDIT_TEST_EXPORT_PAUSE=<point>:<folder>`` set, an export reaching ``<point>``
creates ``<folder>/<point>.reached`` and waits (at most 60 s) until ``<folder>/<point>.go``
exists. Unset (always, outside the test suite) it does nothing. Points: ``before-publish``
(every file written, nothing recorded yet), ``before-commit`` (DIR renamed into place, the
transaction still open) and ``after-commit`` (recorded; the replaced export not yet removed).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_ENV = "LABELAUDIT_TEST_EXPORT_PAUSE"
MAX_WAIT_S = 60.0


def pause_point(name: str) -> None:
    spec = os.environ.get(PAUSE_ENV)
    if not spec:
        return
    point, _, folder = spec.partition(":")
    if point != name or not folder:
        return
    sync = Path(folder)
    (sync / f"{name}.reached").touch()
    deadline = time.monotonic() + MAX_WAIT_S
    while not (sync / f"{name}.go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)

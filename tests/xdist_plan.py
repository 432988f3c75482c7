"""How ./scripts/test spreads the suite over pytest-xdist workers (hooks in tests/conftest.py).

Each test is its own unit of work, except:

- tests/fault/ runs in one worker: its kills are timed against its own reference runs, and its
  campaigns make one table (tests/fault/conftest.py);
- a module with a module-scoped fixture runs in one worker, so that the fixture is built once.

xdist hands out the units with the most tests first. (Not through ``xdist_group`` marks: under
pytest 9.2 ``--dist loadgroup`` loses them, pytest-xdist issue 1386.)
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

ONE_WORKER = ("tests/fault/",)
MODULE_FIXTURE = 'scope="module"'


def shared_unit(nodeid: str, root: Path) -> str | None:
    """The unit of work that the test ``nodeid`` shares with others; None: a unit of its own."""
    path = nodeid.split("::", 1)[0]
    folder = next((f for f in ONE_WORKER if path.startswith(f)), None)
    if folder is not None:
        return folder
    return path if _has_module_fixture(root / path) else None


@cache
def _has_module_fixture(file: Path) -> bool:
    try:
        return MODULE_FIXTURE in file.read_text(encoding="utf-8")
    except OSError:
        return False


def make_scheduler(config: Any, log: Any) -> Any:
    from xdist.scheduler import LoadGroupScheduling

    root = Path(config.rootpath)

    class Scheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return shared_unit(nodeid, root) or super()._split_scope(nodeid)

    return Scheduling(config, log)

"""Whether an unfinished import still runs: an import row records the importing process (pid and
host) and a heartbeat, so a killed import shows as ``interrupted`` instead of ``running`` forever.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from labelaudit.core.processes import pid_exists
from labelaudit.core.store.auditlog import os_identity

HEARTBEAT_INTERVAL_S = 20.0
# Another machine's import is judged by its heartbeat alone (its pid means nothing here).
HEARTBEAT_TIMEOUT_S = 300.0


def running_stats(*, now: float | None = None) -> str:
    """The ``stats`` JSON of an import in progress."""
    _, host = os_identity()
    beat = time.time() if now is None else now
    return json.dumps({"status": "running", "pid": os.getpid(), "host": host, "heartbeat_at": beat})


def unfinished_state(stats_json: str, *, now: float | None = None) -> str:
    """``running`` or ``interrupted`` for an import row without ``finished_at``."""
    try:
        stats: dict[str, Any] = json.loads(stats_json)
    except ValueError:
        return "interrupted"
    if stats.get("status") != "running":
        return "interrupted"
    pid, host = stats.get("pid"), stats.get("host")
    if not isinstance(pid, int):
        return "interrupted"  # made before imports recorded their process: never finished
    if host == os_identity()[1]:
        return "running" if pid_exists(pid) else "interrupted"
    beat = stats.get("heartbeat_at")
    now = time.time() if now is None else now
    fresh = isinstance(beat, int | float) and now - beat < HEARTBEAT_TIMEOUT_S
    return "running" if fresh else "interrupted"

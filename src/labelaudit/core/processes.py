"""Whether a process recorded in the store still runs (scans, imports, exports keep a pid)."""

from __future__ import annotations

import os


def pid_exists(pid: int) -> bool:
    """Whether a process with this id runs on this machine (one we may not signal counts)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True

"""Vote times: epoch seconds a person can mean, checked wherever a time comes in.

Anything else (inf, nan, 1e300) would be stored for good (votes are append-only) and break every
later export, so it is refused on the way in, and readers skip a stored one rather than fail.
"""

from __future__ import annotations

import math
from typing import Any

from labelaudit.core.errors import InputError

EARLIEST_TIME = 0.0  # 1970-01-01T00:00:00Z
LATEST_TIME = 7258118400.0  # 2200-01-01T00:00:00Z
TIME_RANGE = "1970-01-01 and 2200-01-01 (UTC)"


def check_time(when: float, *, text: str | None = None) -> float:
    """``when`` (epoch seconds) if it is a finite time in the accepted range; else InputError
    naming ``text`` (what the user wrote) or the value."""
    if not (math.isfinite(when) and EARLIEST_TIME <= when <= LATEST_TIME):
        shown = text if text is not None else repr(when)
        raise InputError(f"time {shown!r} is not between {TIME_RANGE}")
    return float(when)


def usable_time(value: Any) -> float | None:
    """A stored time as a float, or None where it is not one ``check_time`` accepts (written by
    an older version or by hand): readers skip it rather than fail."""
    try:
        return check_time(float(value))
    except (InputError, TypeError, ValueError, OverflowError):
        return None

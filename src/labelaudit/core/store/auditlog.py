"""The audit log: every change, with OS user and host (roles are a workflow guard, not security)."""

from __future__ import annotations

import getpass
import json
import socket
import time
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.store.schema import audit_log


@cache
def os_identity() -> tuple[str | None, str | None]:
    try:
        user: str | None = getpass.getuser()
    except Exception:  # no login name in some containers
        user = None
    try:
        host: str | None = socket.gethostname()
    except OSError:
        host = None
    return user, host


def log_action(
    conn: Connection,
    action: str,
    *,
    actor: str | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit-log entry inside the caller's transaction."""
    user, host = os_identity()
    conn.execute(
        sa.insert(audit_log).values(
            time=time.time(),
            os_user=user,
            host=host,
            actor=actor,
            action=action,
            target=target,
            details=json.dumps(details, sort_keys=True, default=str) if details else None,
        )
    )


def recent_actions(conn: Connection, *, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]

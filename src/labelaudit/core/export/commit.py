"""The last step of an export: record it and rename it into place, as one step, and say truly
what happened when it is interrupted.

The ``exports`` row and its audit-log entry are written in one transaction, and DIR is renamed
into place inside it, just before the commit; a failed commit puts the folders back. A Ctrl-C
between the rename and the end of the commit is held back until the commit is done (only in the
main thread, where Python delivers it), so the project and DIR always agree. A Ctrl-C after the
commit cannot undo the export: it is reported as recorded (``ExportInterrupted``), and the
previous export moved aside is removed by the next command on the project
(src/labelaudit/core/export/runs.py).
"""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import sqlalchemy as sa

from labelaudit.core.errors import Cancelled
from labelaudit.core.export.ownership import remove_export
from labelaudit.core.export.plan import ExportPlan
from labelaudit.core.export.runs import ExportRun
from labelaudit.core.export.target import Target, publish, unpublish
from labelaudit.core.export.testpause import pause_point
from labelaudit.core.store.auditlog import log_action
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import exports


class ExportInterrupted(Cancelled):
    """Interrupted after the export was recorded: it stands, whatever the interruption."""


class HeldInterrupt:
    """Holds SIGINT back while held; ``pending`` says whether one came."""

    def __init__(self) -> None:
        self.pending = False
        self._previous: Any = None
        self._held = False

    def hold(self) -> None:
        if self._held or threading.current_thread() is not threading.main_thread():
            return
        self._previous = signal.signal(signal.SIGINT, self._note)
        self._held = True

    def _note(self, _signum: int, _frame: FrameType | None) -> None:
        self.pending = True

    def release(self) -> None:
        if self._held:
            signal.signal(signal.SIGINT, self._previous)
            self._held = False


def record_and_publish(
    store: Store, plan: ExportPlan, prov: dict[str, Any], tmp: Path, target: Target, run: ExportRun
) -> int:
    """Record the export and rename it into place; returns the export id (module docstring)."""
    out = target.out
    state: dict[str, Any] = {"published": False, "old": None}
    held = HeldInterrupt()

    def record(conn: sa.Connection) -> int:
        inserted = conn.execute(
            sa.insert(exports).values(
                created_at=time.time(),
                out_dir=str(out),
                params=json.dumps(plan.options.as_json()),
                counts=json.dumps(prov["counts"]),
            )
        )
        assert inserted.inserted_primary_key is not None
        export_id = int(inserted.inserted_primary_key[0])
        details = {"export_id": export_id, "options": plan.options.as_json(), "run": run.run_id}
        log_action(conn, "export", actor=plan.options.actor, target=str(out), details=details)
        if not state["published"]:  # a retried transaction finds it published already
            held.hold()
            state["old"] = publish(tmp, target, run)  # last: a failed rename rolls back
            state["published"] = True
        pause_point("before-commit")
        return export_id

    try:
        export_id = store.write(record)
    except BaseException:
        try:
            if state["published"]:  # the record was rolled back: so is the rename
                unpublish(tmp, out, state["old"])
        except BaseException:
            run.release()  # the next command on the project finishes the undoing
            raise
        finally:
            held.release()
        raise
    old: Path | None = state["old"]
    try:
        held.release()
        if held.pending:
            raise KeyboardInterrupt
        pause_point("after-commit")
        if old is not None:
            remove_export(old)
    except OSError as exc:  # the export stands; the next command on the project tries again
        run.release()
        plan.warnings.append(
            f"the previous export, moved aside to {old}, could not be removed yet "
            f"({exc.strerror or exc}); the next labelaudit command on this project removes it"
        )
    except KeyboardInterrupt:
        run.release()
        aside = (
            f"; the previous export, moved aside to {old}, is removed by the next labelaudit "
            "command on this project"
            if old is not None and old.exists()
            else ""
        )
        raise ExportInterrupted(
            f"interrupted after export {export_id} was written to {out} and recorded{aside}"
        ) from None
    return export_id

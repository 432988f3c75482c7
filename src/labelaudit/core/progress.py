"""Progress reporting and cancellation for long steps, with no UI dependency.

The core calls one small interface; the CLI binds it to tqdm or JSON lines, the app to signals.
Emission is throttled (Orange3's task-state idea): a reporter forwards an update only when it would
change what the user sees, so a tight loop can call ``advance`` per item at no cost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from labelaudit.core.errors import Cancelled


class CancelToken:
    """A flag a worker polls; set from another thread (Cancel button) or a signal handler."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled(
                "cancelled by the user; the project is unchanged by the unfinished step"
            )


@dataclass
class StepState:
    """What a front end shows for the current step."""

    name: str
    total: int | None
    done: int = 0
    unit: str = "it"
    info: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if not self.total or self.done <= 0:
            return None
        return (self.total - self.done) / max(self.rate, 1e-9)


class Progress:
    """Base reporter: keeps state, throttles, and calls the ``_emit_*`` hooks of subclasses."""

    min_interval_s = 0.1

    def __init__(self, cancel: CancelToken | None = None) -> None:
        self.cancel = cancel or CancelToken()
        self.state: StepState | None = None
        self._last_emit = 0.0
        self._last_percent = -1

    # -- the interface the core uses -------------------------------------------------------
    @contextmanager
    def step(self, name: str, total: int | None = None, *, unit: str = "it") -> Iterator[StepState]:
        """Run one named step; nested steps are reported as the innermost one."""
        outer = self.state
        self.state = StepState(name=name, total=total, unit=unit)
        self._last_percent = -1
        self._emit_start(self.state)
        try:
            yield self.state
        finally:
            self._emit_end(self.state)
            self.state = outer

    def advance(self, n: int = 1, **info: Any) -> None:
        self.cancel.raise_if_cancelled()
        state = self.state
        if state is None:
            return
        state.done += n
        state.info.update(info)
        self._maybe_emit(state)

    def update(self, **info: Any) -> None:
        """Change step details (fold, epoch, accuracy) without advancing."""
        self.cancel.raise_if_cancelled()
        if self.state is not None:
            self.state.info.update(info)
            self._maybe_emit(self.state, force=True)

    def message(self, text: str) -> None:
        """A one-line note for the user (what ``auto`` chose, a warning)."""
        self._emit_message(text)

    # -- throttling ------------------------------------------------------------------------
    def _maybe_emit(self, state: StepState, *, force: bool = False) -> None:
        now = time.monotonic()
        percent = int(100 * state.done / state.total) if state.total else -1
        finished = state.total is not None and state.done >= state.total
        if (
            force
            or finished
            or (percent != self._last_percent and now - self._last_emit >= self.min_interval_s)
            or now - self._last_emit >= 1.0
        ):
            self._last_emit = now
            self._last_percent = percent
            self._emit_update(state)

    # -- hooks -----------------------------------------------------------------------------
    def _emit_start(self, state: StepState) -> None:
        pass

    def _emit_update(self, state: StepState) -> None:
        pass

    def _emit_end(self, state: StepState) -> None:
        pass

    def _emit_message(self, text: str) -> None:
        pass


class NullProgress(Progress):
    """Reports nothing; still honours cancellation."""


class RecordingProgress(Progress):
    """Keeps every event in a list: for tests and for callers that want to inspect progress."""

    def __init__(self, cancel: CancelToken | None = None) -> None:
        super().__init__(cancel)
        self.min_interval_s = 0.0
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def _emit_start(self, state: StepState) -> None:
        self.events.append(("start", state.name, {"total": state.total}))

    def _emit_update(self, state: StepState) -> None:
        self.events.append(("update", state.name, {"done": state.done, **state.info}))

    def _emit_end(self, state: StepState) -> None:
        self.events.append(("end", state.name, {"done": state.done}))

    def _emit_message(self, text: str) -> None:
        self.events.append(("message", text, {}))

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
from typing import Any, Literal, Required, TypedDict

from labelaudit.core.errors import Cancelled

EventKind = Literal["start", "update", "end", "message", "done", "error"]


class ProgressEvent(TypedDict, total=False):
    """One progress event as a front end receives it; ``--progress-json`` writes one per line.

    ``fold``/``n_folds`` are set for the events of a cross-validation fold's training step
    (1-based: fold 2 of 5), so a front end never parses them from the display name ``step``.
    An update also carries the step's extra details (``epoch``, ``epochs``, ``images_per_s``...).
    ``done`` and ``error`` are the scan command's final line (cli/cmd_scan.py).
    """

    event: Required[EventKind]
    step: str  # display name: "decode", "fold 2/5", "embeddings"
    total: int | None
    done: int
    rate: float  # units per second
    eta_s: float | None  # seconds left for the whole scan, folds still to come included
    fold: int
    n_folds: int
    epoch: int  # 1-based
    epochs: int
    images_per_s: float
    text: str  # message
    time: float  # wall-clock seconds since the epoch
    scan_id: int  # done: the scan's facts
    kind: str  # done: cv | pred_probs
    resumed_folds: int  # done
    n_images: int  # done
    accuracy: float  # done
    label_issues: int  # done: images flagged
    health_score: float  # done
    elapsed_s: float  # done
    message: str  # error: one line
    exit_code: int  # error


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
    fold: int | None = None  # 1-based, for a cross-validation fold's step
    n_folds: int | None = None

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
    def step(
        self,
        name: str,
        total: int | None = None,
        *,
        unit: str = "it",
        fold: int | None = None,
        n_folds: int | None = None,
    ) -> Iterator[StepState]:
        """Run one named step; nested steps are reported as the innermost one. ``fold`` (1-based)
        and ``n_folds`` mark a cross-validation fold's step for front ends."""
        outer = self.state
        self.state = StepState(name=name, total=total, unit=unit, fold=fold, n_folds=n_folds)
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


def step_event(kind: EventKind, state: StepState) -> ProgressEvent:
    """The event for ``state``: its name and counts, its fold when it has one, and (for an
    update) its rate and ETA. The step's extra details (``state.info``, which may carry a better
    ``eta_s``) are for the writer to add."""
    event: ProgressEvent = {"event": kind, "step": state.name, "done": state.done}
    if kind != "end":
        event["total"] = state.total
    if state.fold is not None and state.n_folds is not None:
        event["fold"], event["n_folds"] = state.fold, state.n_folds
    if kind == "update":
        eta = state.eta_s
        event["rate"] = round(state.rate, 2)
        event["eta_s"] = None if eta is None else round(eta, 1)
    return event


class NullProgress(Progress):
    """Reports nothing; still honours cancellation."""


class RecordingProgress(Progress):
    """Keeps every event in a list: for tests and for callers that want to inspect progress."""

    def __init__(self, cancel: CancelToken | None = None) -> None:
        super().__init__(cancel)
        self.min_interval_s = 0.0
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def _emit_start(self, state: StepState) -> None:
        fold = {} if state.fold is None else {"fold": state.fold, "n_folds": state.n_folds}
        self.events.append(("start", state.name, {"total": state.total, **fold}))

    def _emit_update(self, state: StepState) -> None:
        self.events.append(("update", state.name, {"done": state.done, **state.info}))

    def _emit_end(self, state: StepState) -> None:
        self.events.append(("end", state.name, {"done": state.done}))

    def _emit_message(self, text: str) -> None:
        self.events.append(("message", text, {}))

"""The core's progress interface bound to a terminal (tqdm) or to JSON lines (for the app)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from labelaudit.cli.common import for_terminal
from labelaudit.core.progress import CancelToken, NullProgress, Progress, StepState, step_event


class TqdmProgress(Progress):
    """A tqdm bar per step, on stderr, only when stderr is a terminal."""

    def __init__(self, cancel: CancelToken | None = None) -> None:
        super().__init__(cancel)
        self._bar: Any = None

    def _emit_start(self, state: StepState) -> None:
        from tqdm import tqdm

        self._close()
        self._bar = tqdm(
            total=state.total,
            desc=state.name,
            unit=state.unit,
            leave=False,
            dynamic_ncols=True,
            file=sys.stderr,
        )

    def _emit_update(self, state: StepState) -> None:
        if self._bar is None:
            return
        self._bar.n = state.done
        if state.info:
            self._bar.set_postfix({k: _fmt(v) for k, v in state.info.items()}, refresh=False)
        self._bar.refresh()

    def _emit_end(self, state: StepState) -> None:
        self._close()

    def _emit_message(self, text: str) -> None:
        text = for_terminal(text)
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class MessageOnlyProgress(NullProgress):
    """No bars (output is not a terminal), but one-line notes still reach stderr."""

    def _emit_message(self, text: str) -> None:
        print(for_terminal(text), file=sys.stderr)


class JsonLinesProgress(Progress):
    """One JSON object per line on stdout, a ``ProgressEvent`` (core/progress.py), e.g.
    ``{"event": "update", "step": "fold 2/5", "fold": 2, "n_folds": 5, "epoch": 1, ...}``."""

    def __init__(self, cancel: CancelToken | None = None, stream: TextIO | None = None) -> None:
        super().__init__(cancel)
        self._stream = stream or sys.stdout

    def _write(self, obj: dict[str, Any]) -> None:
        obj["time"] = round(time.time(), 3)
        self._stream.write(json.dumps(obj, default=str) + "\n")
        self._stream.flush()

    def _emit_start(self, state: StepState) -> None:
        self._write(dict(step_event("start", state)))

    def _emit_update(self, state: StepState) -> None:
        # the details last: the engine's whole-scan eta_s replaces this step's own
        self._write({**step_event("update", state), **state.info})

    def _emit_end(self, state: StepState) -> None:
        self._write(dict(step_event("end", state)))

    def _emit_message(self, text: str) -> None:
        self._write({"event": "message", "text": text})


def _fmt(value: Any) -> Any:
    return f"{value:.3g}" if isinstance(value, float) else value


def make_progress(*, json_lines: bool = False, quiet: bool = False) -> Progress:
    if json_lines:
        return JsonLinesProgress()
    if quiet or not sys.stderr.isatty():
        return MessageOnlyProgress()
    return TqdmProgress()

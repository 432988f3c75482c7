"""A scan as a ``labelaudit scan --progress-json`` subprocess (the app never imports torch).

Progress arrives as JSON lines on stdout; Cancel sends SIGINT (the scan stops cleanly and keeps
finished folds for a resume), then kills the process if it has not ended after a grace period.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import cast

from PySide6.QtCore import QByteArray, QObject, QProcess, QTimer, Signal

from labelaudit.core.progress import ProgressEvent

KILL_AFTER_MS = 10_000


def scan_command(project: Path, options: list[str], *, db_url: str | None = None) -> list[str]:
    """argv for the scan subprocess: the same Python, the same installed package."""
    argv = [sys.executable, "-m", "labelaudit", "scan", str(project), "--progress-json"]
    if db_url:
        argv += ["--db", db_url]
    return argv + options


class ScanProcess(QObject):
    # one ProgressEvent (start, update, end, message, done, error); not named ``event``, which
    # would hide QObject.event, the method Qt calls to deliver events to this object
    progress_event = Signal(dict)
    finished = Signal(int, str)  # exit code, the error message ("" on success)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process = QProcess(self)
        self._buffer = b""
        self._stderr_tail: list[str] = []
        self._error = ""
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self.process.kill)
        self.process.readyReadStandardOutput.connect(self._on_stdout)
        self.process.readyReadStandardError.connect(self._on_stderr)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)

    @property
    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, argv: list[str]) -> None:
        self._buffer, self._stderr_tail, self._error = b"", [], ""
        self.process.start(argv[0], argv[1:])

    def cancel(self) -> None:
        """SIGINT first (a clean stop), a kill when it does not end in time."""
        if not self.running:
            return
        pid = self.process.processId()
        if pid and hasattr(signal, "SIGINT") and os.name == "posix":
            os.kill(pid, signal.SIGINT)
        else:
            self.process.terminate()
        self._kill_timer.start(KILL_AFTER_MS)

    def wait(self, msecs: int) -> bool:
        return bool(self.process.waitForFinished(msecs))

    def _on_stdout(self) -> None:
        self._buffer += bytes(QByteArray(self.process.readAllStandardOutput()).data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._handle_line(line)

    def _handle_line(self, line: bytes) -> None:
        try:
            parsed = json.loads(line.decode("utf-8", "replace"))
        except ValueError:
            return  # not a progress line
        if not isinstance(parsed, dict) or not isinstance(parsed.get("event"), str):
            return
        event = cast(ProgressEvent, parsed)
        if event["event"] == "error":
            self._error = str(event.get("message", "the scan failed"))
        self.progress_event.emit(event)

    def _on_stderr(self) -> None:
        text = bytes(QByteArray(self.process.readAllStandardError()).data()).decode(
            "utf-8", "replace"
        )
        self._stderr_tail = (self._stderr_tail + text.splitlines())[-20:]

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        if self._buffer.strip():
            self._handle_line(self._buffer)
            self._buffer = b""
        if status == QProcess.ExitStatus.CrashExit and not self._error:
            self._error = "the scan was stopped"
            code = code or 130
        if code != 0 and not self._error:
            lines = [line for line in self._stderr_tail if line.strip()]
            self._error = lines[-1] if lines else f"the scan exited with code {code}"
        self.finished.emit(code, self._error)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._error = f"cannot start the scan: {self.process.errorString()}"
            self.finished.emit(127, self._error)

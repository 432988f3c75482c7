"""Loads one full image for the detail view in the thread pool; the newest request wins."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from labelaudit.gui.workers.images import full_qimage


class _Signals(QObject):
    done = Signal(int, QImage, str)  # ticket, image (null on failure), error text


class _Job(QRunnable):
    def __init__(self, ticket: int, path: Path, signals: _Signals) -> None:
        super().__init__()
        self.ticket, self.path, self.signals = ticket, path, signals

    def run(self) -> None:
        try:
            image = full_qimage(self.path)
            error = ""
        except FileNotFoundError:
            image, error = QImage(), f"file not found: {self.path}"
        except Exception as exc:  # unreadable image: the pane says why
            image, error = QImage(), f"cannot read {self.path.name}: {exc}"
        self.signals.done.emit(self.ticket, image, error)


class ImageLoader(QObject):
    """``load(path)``; ``loaded`` fires for the latest request only."""

    loaded = Signal(QImage, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._ticket = 0
        self.pending = False
        self._signals.done.connect(self._on_done)

    def load(self, path: Path) -> None:
        self._ticket += 1
        self.pending = True
        self._pool.clear()
        self._pool.start(_Job(self._ticket, path, self._signals))

    def shutdown(self) -> None:
        self._ticket += 1
        self.pending = False
        self._pool.clear()
        self._pool.waitForDone(5000)

    def _on_done(self, ticket: int, image: QImage, error: str) -> None:
        if ticket == self._ticket:
            self.pending = False
            self.loaded.emit(image, error)

"""Thumbnails for the grid: QImage made in a thread pool, QPixmap cached on the GUI thread.

Visible tiles are requested first, then a screen's worth around them. Each request bumps a
generation: queued jobs are dropped (``QThreadPool.clear``) and running ones stop between
images, so tiles scrolled past cost nothing. Results go into a deque that a 16 ms timer drains on
the GUI thread, turning them into pixmaps and announcing one batch per tick (architecture.md §7).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap

from labelaudit.core.paths import disk_path
from labelaudit.core.store.engine import Store
from labelaudit.core.views.details import image_sha256
from labelaudit.gui.workers.images import thumb_qimage

JOB_SIZE = 4  # images per job: small enough to cancel quickly, big enough to share one query
DRAIN_MS = 16
DRAIN_MAX = 16  # results turned into pixmaps per tick: bounds the GUI thread's share
DEFAULT_CACHE_BYTES = 160 * 1024 * 1024


class _Generation:
    """The current request generation, read by workers (an int read is atomic under the GIL)."""

    value = 0


class ThumbSource:
    """Where thumbnails come from: a project's store, image root and thumbnail cache."""

    def __init__(self, store: Store, image_root: Path, thumb_dir: Path) -> None:
        self.store = store
        self.image_root = image_root
        self.thumb_dir = thumb_dir

    def sha256_of(self, image_ids: Sequence[int]) -> dict[int, str | None]:
        return image_sha256(self.store, image_ids)


class _ThumbJob(QRunnable):
    def __init__(
        self,
        generation: int,
        current: _Generation,
        items: list[tuple[int, str]],
        source: ThumbSource,
        out: deque[tuple[int, QImage | None, str]],
        side: int,
    ) -> None:
        super().__init__()
        self.generation, self.current, self.items = generation, current, items
        self.source, self.out, self.side = source, out, side

    def run(self) -> None:
        if self.current.value != self.generation:
            return
        try:
            shas = self.source.sha256_of([image_id for image_id, _ in self.items])
        except Exception as exc:  # a database hiccup: tiles show why, the grid stays usable
            shas = {}
            error = f"database: {exc}"
        else:
            error = ""
        for image_id, rel in self.items:
            if self.current.value != self.generation:
                return
            try:
                path = disk_path(self.source.image_root, rel)
                image = thumb_qimage(path, shas.get(image_id), self.source.thumb_dir)
                if self.side:  # scaled here, so painting a tile is a plain copy
                    image = image.scaled(
                        self.side,
                        self.side,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                self.out.append((image_id, image, ""))
            except Exception as exc:  # missing or unreadable file: a placeholder says so
                self.out.append((image_id, None, error or _reason(exc)))


def _reason(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    return f"{type(exc).__name__}: {exc}"[:200]


class ThumbLoader(QObject):
    """Pixmaps by image id for the GUI thread, loaded on demand in a thread pool."""

    ready = Signal(list)  # image ids whose tile changed in this batch

    def __init__(self, parent: QObject | None = None, *, cache_bytes: int = DEFAULT_CACHE_BYTES):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        # Leave one core to the GUI thread: painting must not wait for decoders.
        cores = QThreadPool.globalInstance().maxThreadCount()
        self._pool.setMaxThreadCount(max(1, min(4, cores - 1)))
        self._current = _Generation()
        self._results: deque[tuple[int, QImage | None, str]] = deque()
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = cache_bytes
        self._failed: dict[int, str] = {}
        self._in_flight: set[int] = set()
        self._source: ThumbSource | None = None
        self._side = 0  # pixmaps are scaled to fit this square (0: thumbnail size)
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self._drain)
        self.loaded_count = 0

    # -- source ---------------------------------------------------------------------------------
    def set_source(self, source: ThumbSource | None) -> None:
        """Switch project: forget everything cached."""
        self.cancel_all()
        self._source = source
        self._cache.clear()
        self._cache_bytes = 0
        self._failed.clear()

    def set_side(self, side: int) -> None:
        """Deliver pixmaps that fit ``side`` x ``side`` (the tile size); forgets the cache."""
        if side != self._side:
            self._side = side
            self.set_source(self._source)

    # -- queries (GUI thread) -------------------------------------------------------------------
    def pixmap(self, image_id: int) -> QPixmap | None:
        pixmap = self._cache.get(image_id)
        if pixmap is not None:
            self._cache.move_to_end(image_id)
        return pixmap

    def failure(self, image_id: int) -> str | None:
        return self._failed.get(image_id)

    def is_done(self, image_id: int) -> bool:
        return image_id in self._cache or image_id in self._failed

    @property
    def busy(self) -> bool:
        return bool(self._in_flight) or bool(self._results)

    # -- requests -------------------------------------------------------------------------------
    def request(
        self, visible: Sequence[tuple[int, str]], prefetch: Sequence[tuple[int, str]]
    ) -> None:
        """Load ``visible`` (image id, relative path) first, then ``prefetch``; anything asked
        for earlier and not started yet is dropped."""
        if self._source is None:
            return
        self.cancel_all()
        generation = self._current.value
        for priority, items in ((1, visible), (0, prefetch)):
            todo = [(i, rel) for i, rel in items if not self.is_done(i)]
            for start in range(0, len(todo), JOB_SIZE):
                chunk = todo[start : start + JOB_SIZE]
                job = _ThumbJob(
                    generation, self._current, chunk, self._source, self._results, self._side
                )
                self._in_flight.update(i for i, _ in chunk)
                self._pool.start(job, priority)
        if self._in_flight and not self._timer.isActive():
            self._timer.start()

    def cancel_all(self) -> None:
        self._current.value += 1
        self._pool.clear()
        self._in_flight.clear()

    def shutdown(self) -> None:
        self.cancel_all()
        self._timer.stop()
        self._pool.waitForDone(5000)

    def _drain(self) -> None:
        changed: list[int] = []
        while self._results and len(changed) < DRAIN_MAX:
            image_id, image, error = self._results.popleft()
            self._in_flight.discard(image_id)
            if image is None:
                self._failed[image_id] = error
            else:
                self._insert(image_id, QPixmap.fromImage(image))
                self.loaded_count += 1
            changed.append(image_id)
        if not (self._in_flight or self._results) and self._pool.activeThreadCount() == 0:
            self._timer.stop()
        if changed:
            self.ready.emit(changed)

    def _insert(self, image_id: int, pixmap: QPixmap) -> None:
        old = self._cache.pop(image_id, None)
        if old is not None:
            self._cache_bytes -= _bytes(old)
        self._cache[image_id] = pixmap
        self._cache_bytes += _bytes(pixmap)
        while self._cache_bytes > self._cache_limit and len(self._cache) > 1:
            _, evicted = self._cache.popitem(last=False)
            self._cache_bytes -= _bytes(evicted)


def _bytes(pixmap: QPixmap) -> int:
    return pixmap.width() * pixmap.height() * 4

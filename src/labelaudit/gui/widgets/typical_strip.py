"""A row of small thumbnails: typical members of one class, for comparison with the image."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QWidget

from labelaudit.gui.workers.thumbs import ThumbLoader

THUMB = 56
GAP = 4


class TypicalStrip(QWidget):
    row_clicked = Signal(int)  # row of ReviewData

    def __init__(self, loader: ThumbLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.title = ""
        self.items: list[tuple[int, int, str]] = []  # row, image id, path
        self.setMinimumHeight(THUMB + 20)
        self.setMouseTracking(True)
        self.loader.ready.connect(self.update)

    def set_items(self, title: str, items: list[tuple[int, int, str]]) -> None:
        self.title, self.items = title, items
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(8 * (THUMB + GAP), THUMB + 20)

    def _cell(self, i: int) -> QRect:
        return QRect(i * (THUMB + GAP), 18, THUMB, THUMB)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        painter.drawText(QRect(0, 0, self.width(), 16), Qt.AlignmentFlag.AlignLeft, self.title)
        for i, (_, image_id, _) in enumerate(self.items):
            cell = self._cell(i)
            if cell.right() > self.width():
                break
            pixmap = self.loader.pixmap(image_id)
            if pixmap is None:
                painter.fillRect(cell, palette.alternateBase())
                continue
            size = pixmap.size().scaled(cell.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(cell.x(), cell.y(), size.width(), size.height())
            target.moveCenter(cell.center())
            painter.drawPixmap(target, pixmap)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        for i, (row, _, _) in enumerate(self.items):
            if self._cell(i).contains(event.position().toPoint()):
                self.row_clicked.emit(row)
                return

    def event(self, event) -> bool:  # type: ignore[no-untyped-def]
        if event.type() == event.Type.ToolTip:
            for i, (_, _, path) in enumerate(self.items):
                if self._cell(i).contains(event.pos()):
                    self.setToolTip(path)
                    break
            else:
                self.setToolTip("")
        return super().event(event)

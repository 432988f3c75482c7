"""A row of small thumbnails: typical members of one class, for comparison with the image.

They are for looking only: a click shows one enlarged in a read-only popup (the current image,
the one the next key votes on, stays), a double-click goes to it when the grid's view shows it.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from labelaudit.gui.workers.thumbs import ThumbLoader

THUMB = 56
GAP = 4
PREVIEW = 256  # the enlarged comparison image, in pixels


class ComparisonPreview(QWidget):
    """A popup with one comparison image; a click anywhere or Escape closes it, and while it is
    open no key reaches the voting shortcuts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setMaximumWidth(PREVIEW)
        layout.addWidget(self.image)
        layout.addWidget(self.caption)

    def show_image(self, pixmap: QPixmap | None, path: str, at: QPoint) -> None:
        if pixmap is None or pixmap.isNull():
            self.image.setText("(loading…)")
        else:
            self.image.setPixmap(
                pixmap.scaled(
                    PREVIEW,
                    PREVIEW,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        self.caption.setText(f"{path}\ncomparison only; double-click it in the strip to go to it")
        self.adjustSize()
        self.move(at)
        self.show()


class TypicalStrip(QWidget):
    row_activated = Signal(int)  # row of ReviewData, on a double-click

    def __init__(self, loader: ThumbLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.title = ""
        self.items: list[tuple[int, int, str]] = []  # row, image id, path
        self.preview = ComparisonPreview(self)
        # A single click waits out the double-click interval before it opens the popup, or the
        # popup would swallow the second click of a double-click.
        self._click_timer = QTimer(self)
        self._click_timer.setSingleShot(True)
        self._click_timer.setInterval(QApplication.doubleClickInterval())
        self._clicked = -1
        self._click_timer.timeout.connect(lambda: self.show_preview(self._clicked))
        self.setMinimumHeight(THUMB + 20)
        self.setMouseTracking(True)
        self.loader.ready.connect(self.update)

    def set_items(self, title: str, items: list[tuple[int, int, str]]) -> None:
        self.title, self.items = title, items
        self._click_timer.stop()
        self.preview.hide()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(8 * (THUMB + GAP), THUMB + 20)

    def _cell(self, i: int) -> QRect:
        return QRect(i * (THUMB + GAP), 18, THUMB, THUMB)

    def _item_at(self, point: QPoint) -> int:
        return next((i for i in range(len(self.items)) if self._cell(i).contains(point)), -1)

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

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        item = self._item_at(event.position().toPoint())
        if item >= 0 and event.button() == Qt.MouseButton.LeftButton:
            self._clicked = item
            self._click_timer.start()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self._click_timer.stop()
        item = self._item_at(event.position().toPoint())
        if item >= 0:
            self.row_activated.emit(self.items[item][0])

    def show_preview(self, item: int) -> None:
        """Item ``item`` of the strip, enlarged in the popup next to its cell."""
        if not 0 <= item < len(self.items):
            return
        _, image_id, path = self.items[item]
        at = self.mapToGlobal(self._cell(item).bottomLeft() + QPoint(0, GAP))
        self.preview.show_image(self.loader.pixmap(image_id), path, at)

    def event(self, event) -> bool:  # type: ignore[no-untyped-def]
        if event.type() == event.Type.ToolTip:
            item = self._item_at(event.pos())
            self.setToolTip(self.items[item][2] if item >= 0 else "")
        return super().event(event)

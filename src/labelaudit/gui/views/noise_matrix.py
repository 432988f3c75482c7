"""The noise-matrix view: counts of given class (rows) x most likely class (columns).

A cell is an exact image set (``Filters.for_cell``): a click shows those images in the grid.
cleanlab's calibrated confident joint is an estimate, not an image set; the summary shows it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QCheckBox, QLabel, QToolTip, QVBoxLayout, QWidget

from labelaudit.gui.style import heat_color

MARGIN_TOP = 90  # room for tilted column headers
MIN_CELL = 6
SHORT_HEADER = 3  # headers up to this many characters are drawn level, not tilted
AXES_CAPTION = "rows: given · columns: likely"


class NoiseMatrix(QWidget):
    cell_clicked = Signal(int, int)  # given class, most likely class

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts = np.zeros((0, 0), dtype=np.int64)
        self.names: list[str] = []
        self.setMouseTracking(True)
        self.setMinimumSize(200, 200)
        self.setAccessibleName("given × predicted counts")

    def set_matrix(self, counts: np.ndarray, names: list[str]) -> None:
        self.counts, self.names = counts, names
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(640, 640)

    # -- geometry -------------------------------------------------------------------------------
    def _left_margin(self) -> int:
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(n) for n in self.names), default=0)
        return min(160, widest + 12)

    def tilted_headers(self) -> bool:
        """Long class names are tilted to fit above narrow columns; short ones stay level."""
        return any(len(n) > SHORT_HEADER for n in self.names)

    def _top_margin(self) -> int:
        return MARGIN_TOP if self.tilted_headers() else self.fontMetrics().height() + 8

    def _cell_size(self) -> int:
        k = max(1, len(self.names))
        room = min(self.width() - self._left_margin(), self.height() - self._top_margin()) - 4
        return max(MIN_CELL, room // k)

    def cell_rect(self, given: int, likely: int) -> QRect:
        size = self._cell_size()
        top = self._top_margin()
        return QRect(self._left_margin() + likely * size, top + given * size, size, size)

    def cell_at(self, point: QPoint) -> tuple[int, int] | None:
        size = self._cell_size()
        top = self._top_margin()
        column = (point.x() - self._left_margin()) // size
        row = (point.y() - top) // size
        k = len(self.names)
        if point.x() < self._left_margin() or point.y() < top:
            return None
        return (int(row), int(column)) if 0 <= row < k and 0 <= column < k else None

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        k = len(self.names)
        text = self.palette().color(QPalette.ColorRole.Text)
        if k == 0 or self.counts.sum() == 0:
            painter.setPen(text)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no scan results yet")
            return
        size = self._cell_size()
        row_totals = np.maximum(self.counts.sum(axis=1, keepdims=True), 1)
        shares = self.counts / row_totals
        for g in range(k):
            for s in range(k):
                rect = self.cell_rect(g, s)
                painter.fillRect(rect, heat_color(float(shares[g, s]) ** 0.5))
                if g == s:
                    painter.setPen(QColor("#888"))
                    painter.drawRect(rect.adjusted(0, 0, -1, -1))
                count = int(self.counts[g, s])
                if count and size >= 22:
                    painter.setPen(QColor("white") if shares[g, s] > 0.45 else QColor("black"))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{count}")
        self._paint_labels(painter, size, text)

    def _paint_labels(self, painter: QPainter, size: int, text: QColor) -> None:
        painter.setPen(text)
        left, top = self._left_margin(), self._top_margin()
        metrics = painter.fontMetrics()
        if size < metrics.height() - 2:
            return  # too small to label; the tooltip names each cell
        for i, name in enumerate(self.names):
            row_rect = QRect(0, top + i * size, left - 6, size)
            elided = metrics.elidedText(name, Qt.TextElideMode.ElideRight, left - 6)
            right_middle = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(row_rect, right_middle, elided)
            if not self.tilted_headers():
                column_rect = QRect(left + i * size, 0, size, top - 4)
                bottom_centre = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom
                painter.drawText(column_rect, bottom_centre, name)
                continue
            painter.save()
            painter.translate(left + i * size + size // 2 + metrics.ascent() // 2, top - 4)
            painter.rotate(-60)
            painter.drawText(0, 0, metrics.elidedText(name, Qt.TextElideMode.ElideRight, top))
            painter.restore()

    # -- interaction ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position().toPoint())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.cell_clicked.emit(*cell)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position().toPoint())
        if cell is None:
            QToolTip.hideText()
            return
        g, s = cell
        count = int(self.counts[g, s])
        tip = f"given {self.names[g]}, most likely {self.names[s]}: {count} images (click to show)"
        QToolTip.showText(event.globalPosition().toPoint(), tip, self)


class NoisePanel(QWidget):
    """The heatmap with its "flagged only" toggle."""

    cell_clicked = Signal(int, int, bool)  # given, likely, flagged only

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._build_ui()
        self._connect()

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.flagged_only = QCheckBox("Flagged only")
        self.caption = QLabel(
            f"<b>{AXES_CAPTION}</b><br>Images per given class (rows) and most likely class "
            "(columns). Click a cell to review exactly those images."
        )
        self.caption.setWordWrap(True)
        self.matrix = NoiseMatrix()
        layout.addWidget(self.flagged_only)
        layout.addWidget(self.caption)
        layout.addWidget(self.matrix, 1)

    def _connect(self) -> None:
        self.matrix.cell_clicked.connect(
            lambda g, s: self.cell_clicked.emit(g, s, self.flagged_only.isChecked())
        )

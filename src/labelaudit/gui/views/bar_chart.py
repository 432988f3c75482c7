"""A horizontal bar chart (QPainter, no QtCharts): class sizes, with a flagged share per bar."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QWidget

ROW = 18


class BarChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, int, int]] = []  # name, total, highlighted part (flagged)
        self.setAccessibleName("class sizes")

    def set_rows(self, rows: list[tuple[str, int, int]]) -> None:
        self.rows = rows
        self.setMinimumHeight(len(rows) * ROW + 4)
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(420, len(self.rows) * ROW + 4)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        text = self.palette().color(QPalette.ColorRole.Text)
        if not self.rows:
            return
        metrics = painter.fontMetrics()
        label_w = min(160, max(metrics.horizontalAdvance(r[0]) for r in self.rows) + 8)
        number_w = metrics.horizontalAdvance("1,000,000 (100% flagged)") + 8
        bar_w = max(10, self.width() - label_w - number_w)
        largest = max(max(r[1] for r in self.rows), 1)
        for i, (name, total, part) in enumerate(self.rows):
            y = i * ROW
            painter.setPen(text)
            painter.drawText(
                QRect(0, y, label_w - 6, ROW),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                metrics.elidedText(name, Qt.TextElideMode.ElideRight, label_w - 6),
            )
            width = int(bar_w * total / largest)
            painter.fillRect(QRect(label_w, y + 3, max(1, width), ROW - 6), QColor("#7aa6d8"))
            flagged_w = int(bar_w * part / largest)
            painter.fillRect(QRect(label_w, y + 3, flagged_w, ROW - 6), QColor("#d62d20"))
            share = f" ({part / total:.0%} flagged)" if total and part else ""
            painter.drawText(
                QRect(label_w + width + 4, y, number_w, ROW),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                f"{total:,}{share}",
            )

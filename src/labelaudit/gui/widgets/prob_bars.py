"""The top-5 class probabilities of the current image as horizontal bars (QPainter)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QWidget

ROW = 20
PERCENT_W = 60  # room for ">99.9%"


class ProbBars(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[tuple[str, float, str]] = []  # name, probability, role (given|best|)
        self.setMinimumHeight(ROW)
        self.setAccessibleName("class probabilities")

    def set_items(self, items: list[tuple[str, float, str]]) -> None:
        self.items = items
        self.setMinimumHeight(max(1, len(items)) * ROW)
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(260, max(1, len(self.items)) * ROW)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        text_color = self.palette().color(QPalette.ColorRole.Text)
        if not self.items:
            painter.setPen(text_color)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignLeft, "no scan results")
            return
        label_w = min(140, self.width() // 2)
        bar_w = self.width() - label_w - PERCENT_W
        for i, (name, prob, role) in enumerate(self.items):
            y = i * ROW
            painter.setPen(text_color)
            label = QRect(0, y, label_w - 6, ROW)
            elided = painter.fontMetrics().elidedText(
                name, Qt.TextElideMode.ElideRight, label_w - 6
            )
            painter.drawText(
                label, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, elided
            )
            color = {"given": QColor("#2f7ed8"), "best": QColor("#d9730d")}.get(
                role, QColor("#999")
            )
            painter.fillRect(QRect(label_w, y + 4, max(1, int(bar_w * prob)), ROW - 8), color)
            painter.drawText(
                QRect(label_w + bar_w + 4, y, PERCENT_W - 4, ROW),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                percent(prob),
            )


def percent(prob: float) -> str:
    """A probability as a percentage; almost certain never reads as certain ("100%")."""
    if prob >= 0.9995:
        return ">99.9%"
    return f"{prob:.1%}" if prob >= 0.995 else f"{prob:.0%}"

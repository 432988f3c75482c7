"""A message strip over the top of the window: errors and notes that never block the work.

It floats over the content (attached to a host widget) instead of taking a row of the layout, so
a message never pushes the grid down. Every message goes away by itself after a while, and a
problem (warning, error) also goes on the next successful action (``clear_problem``).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

COLORS = {"info": "#e8f1fb", "warning": "#fff4d6", "error": "#fde2e1"}
BORDERS = {"info": "#9dbfe6", "warning": "#e0b44c", "error": "#d9534f"}
# How long each level stays (ms): an error long enough to read twice, never for good.
TIMEOUT_MS = {"info": 6000, "warning": 12000, "error": 20000}


class MessageBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._hide_timer = QTimer(self)
        self._host: QWidget | None = None
        self._below: QWidget | None = None
        self.level = ""
        self._build_ui()
        self._connect()

    def _build_ui(self) -> None:
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("dismiss")
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self._hide_timer.setSingleShot(True)
        self.setAutoFillBackground(True)
        self.hide()

    def _connect(self) -> None:
        self.close_button.clicked.connect(self.hide)
        self._hide_timer.timeout.connect(self.hide)

    def attach(self, host: QWidget, *, below: QWidget | None = None) -> None:
        """Float over the top edge of ``host`` (a child of it), following its size; under
        ``below`` while that is visible (the bar saying who is working stays in sight)."""
        self._host, self._below = host, below
        self.setParent(host)
        host.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._host and event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False

    def _place(self) -> None:
        if self._host is None:
            return
        width = self._host.width()
        height = self.heightForWidth(width) if self.hasHeightForWidth() else -1
        top = 0
        if self._below is not None and self._below.isVisible():
            top = self._below.mapTo(self._host, self._below.rect().bottomLeft()).y() + 1
        self.setGeometry(0, top, width, max(height, self.sizeHint().height()))
        self.raise_()

    def show_message(self, level: str, text: str) -> None:
        self.label.setText(text)
        color = COLORS.get(level, COLORS["info"])
        border = BORDERS.get(level, BORDERS["info"])
        self.setStyleSheet(
            f"MessageBar {{ background: {color}; border-bottom: 1px solid {border}; }}"
        )
        self.setProperty("level", level)
        self.level = level
        self.show()
        self._place()
        self._hide_timer.start(TIMEOUT_MS.get(level, TIMEOUT_MS["info"]))

    def clear_problem(self) -> None:
        """A later action went through: a warning or error about an earlier one is stale."""
        if self.isVisible() and self.level in ("warning", "error"):
            self.hide()

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

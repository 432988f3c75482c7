"""A message strip at the top of the window: errors and notes that never block the work."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

COLORS = {"info": "#e8f1fb", "warning": "#fff4d6", "error": "#fde2e1"}


class MessageBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._hide_timer = QTimer(self)
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
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button)
        self._hide_timer.setSingleShot(True)
        self.setAutoFillBackground(True)
        self.hide()

    def _connect(self) -> None:
        self.close_button.clicked.connect(self.hide)
        self._hide_timer.timeout.connect(self.hide)

    def show_message(self, level: str, text: str) -> None:
        self.label.setText(text)
        self.setStyleSheet(f"MessageBar {{ background: {COLORS.get(level, COLORS['info'])}; }}")
        self.setProperty("level", level)
        self.show()
        # Notes go away by themselves; errors stay until dismissed.
        if level == "info":
            self._hide_timer.start(6000)
        else:
            self._hide_timer.stop()

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

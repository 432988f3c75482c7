"""Messages in the status bar: errors and notes that never block the work or hide a control.

The bar is a widget of the main window's status bar (``MainWindow`` adds it), so it covers no
control and moves none: the status bar's row always has room for one line, and a longer message
wraps and makes the row taller, which shrinks the content from the bottom only (the tab bar,
the filters and the first row of tiles stay where they are). It never takes the keyboard focus.
Every message goes away by itself after a while, and a problem (warning, error) also goes on
the next successful action (``clear_problem``).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QSizePolicy,
    QStyle,
    QToolButton,
    QWidget,
)

COLORS = {"info": "#e8f1fb", "warning": "#fff4d6", "error": "#fde2e1"}
BORDERS = {"info": "#4a86c8", "warning": "#d39b1c", "error": "#d9534f"}
ICONS = {
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
}
# How long each level stays (ms): an error long enough to read twice, never for good.
TIMEOUT_MS = {"info": 6000, "warning": 12000, "error": 20000}
ICON_PX = 16
BUTTON_PX = ICON_PX + 2  # the dismiss button: small, so the row stays a status bar's
MAX_LINES = 4  # a longer message is cut there (its tooltip has it all)
MARGINS = (6, 1, 2, 1)  # left, top, right, bottom


class MessageBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._hide_timer = QTimer(self)
        self.level = ""
        self._height = 0  # what sizeHint asks for: the wrapped text's height (_fit_height)
        self._build_ui()
        self._connect()

    def _build_ui(self) -> None:
        layout = self._layout = QHBoxLayout(self)
        layout.setContentsMargins(*MARGINS)
        layout.setSpacing(6)
        # Its height is _height (sizeHint), not the layout's minimum: a wrapped label asks for
        # more than one line needs.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.icon = QLabel()
        self.icon.setFixedSize(ICON_PX, ICON_PX)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setMinimumWidth(1)  # a long message wraps rather than widen the window
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("dismiss")
        self.close_button.setFixedSize(BUTTON_PX, BUTTON_PX)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        for widget in (self, self.label, self.close_button):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the grid
        self._hide_timer.setSingleShot(True)
        self.setAutoFillBackground(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        # The status bar keeps room for the hidden bar's height: one line, always.
        self._height = self._height_for_lines(1)
        self.hide()

    def _connect(self) -> None:
        self.close_button.clicked.connect(self.dismiss)
        self._hide_timer.timeout.connect(self.dismiss)

    def show_message(self, level: str, text: str) -> None:
        self.label.setText(text)
        self.setToolTip(text)
        color = COLORS.get(level, COLORS["info"])
        border = BORDERS.get(level, BORDERS["info"])
        self.setStyleSheet(
            f"MessageBar {{ background: {color}; border-left: 4px solid {border}; }}"
        )
        icon = self.style().standardIcon(ICONS.get(level, ICONS["info"]))
        self.icon.setPixmap(icon.pixmap(ICON_PX, ICON_PX))
        self.setProperty("level", level)
        self.level = level
        self.show()
        self._fit_height()
        self._hide_timer.start(TIMEOUT_MS.get(level, TIMEOUT_MS["info"]))

    def dismiss(self) -> None:
        self._hide_timer.stop()
        self.hide()
        self._set_height(self._height_for_lines(1))  # the status bar's row shrinks back

    def clear_problem(self) -> None:
        """A later action went through: a warning or error about an earlier one is stale (also
        while a status-bar note hides it for a moment)."""
        if self._hide_timer.isActive() and self.level in ("warning", "error"):
            self.dismiss()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _height_for_lines(self, lines: int) -> int:
        text = lines * self.label.fontMetrics().lineSpacing() + 2  # + the label's leading
        inner = max(ICON_PX, text, BUTTON_PX)
        return inner + MARGINS[1] + MARGINS[3]

    def _fit_height(self) -> None:
        """As tall as the wrapped text at the bar's width, up to MAX_LINES lines (the status
        bar's row is as tall as its tallest widget, hidden ones included)."""
        spacing = 2 * self._layout.spacing() + MARGINS[0] + MARGINS[2]
        width = self.width() - ICON_PX - BUTTON_PX - spacing
        if width <= 0:
            return
        text = self.label.heightForWidth(width) + MARGINS[1] + MARGINS[3]
        need = max(self._height_for_lines(1), min(text, self._height_for_lines(MAX_LINES)))
        self._set_height(need)

    def _set_height(self, height: int) -> None:
        if height != self._height:
            self._height = height
            self.updateGeometry()  # the status bar lays out again, after this event

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._height)

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self._height)

    def hasHeightForWidth(self) -> bool:
        return False  # _fit_height says how tall: the status bar must not ask the label

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

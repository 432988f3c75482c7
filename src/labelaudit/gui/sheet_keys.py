"""Escape closes the app's sheets (the shortcuts sheet, the tile legend) from the main window.

On an X server without a window manager a new top-level window does not get the keyboard: keys
keep going to the main window, where the sheet's own Escape never sees them. So the main window
has an Escape key of its own, enabled only while a sheet is open (otherwise Escape stays with the
note field, which clears the note with it).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget


class SheetKeys(QObject):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._sheets: list[QWidget] = []
        self.escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
        self.escape.setEnabled(False)
        self.escape.activated.connect(self.close_all)

    def watch(self, sheet: QWidget) -> None:
        """Close ``sheet`` with Escape in the main window while it shows."""
        if sheet not in self._sheets:
            self._sheets.append(sheet)
            sheet.installEventFilter(self)
            self._update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Show, QEvent.Type.Hide):
            self._update()
        return False

    def _update(self) -> None:
        self.escape.setEnabled(any(sheet.isVisible() for sheet in self._sheets))

    def close_all(self) -> None:
        for sheet in self._sheets:
            if sheet.isVisible():
                sheet.close()

"""Pick a class by typing part of its name (C; for classes beyond the ten digit keys)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListWidget, QVBoxLayout, QWidget

from labelaudit.gui.actions import key_classes


class ClassPicker(QDialog):
    def __init__(self, class_names: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.class_names = class_names
        self.keys = {cls: digit for digit, cls in key_classes(class_names).items()}
        self.chosen: int | None = None
        self._build_ui()
        self._connect()
        self._filter("")

    def _build_ui(self) -> None:
        self.setWindowTitle("Relabel to…")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Type to filter, Enter to choose:"))
        self.query = QLineEdit()
        self.query.setAccessibleName("class filter")
        self.matches = QListWidget()
        layout.addWidget(self.query)
        layout.addWidget(self.matches)
        self.resize(320, 420)

    def _connect(self) -> None:
        self.query.textChanged.connect(self._filter)
        self.query.returnPressed.connect(self._choose_current)
        self.matches.itemActivated.connect(lambda _item: self._choose_current())

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        self.matches.clear()
        ranked = sorted(
            (i for i, name in enumerate(self.class_names) if needle in name.lower()),
            key=lambda i: (not self.class_names[i].lower().startswith(needle), i),
        )
        for i in ranked:
            key = self.keys.get(i)
            self.matches.addItem(f"{key if key is not None else ' '}  {self.class_names[i]}")
            self.matches.item(self.matches.count() - 1).setData(Qt.ItemDataRole.UserRole, i)
        if self.matches.count():
            self.matches.setCurrentRow(0)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            step = 1 if event.key() == Qt.Key.Key_Down else -1
            row = min(max(self.matches.currentRow() + step, 0), self.matches.count() - 1)
            self.matches.setCurrentRow(row)
            return
        super().keyPressEvent(event)

    def _choose_current(self) -> None:
        item = self.matches.currentItem()
        if item is not None:
            self.chosen = int(item.data(Qt.ItemDataRole.UserRole))
            self.accept()

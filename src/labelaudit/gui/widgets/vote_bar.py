"""Voting buttons (each bound to the same action as its key): keep, drop, unsure, a digit key per
class, any class by name, undo and redo, and an optional note for the next decision."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from labelaudit.gui.actions import Actions, key_classes

COLUMNS = 3
LAST_ROW = 4  # below up to ten class buttons (0-9) in three columns


class NoteEdit(QLineEdit):
    """The note line: Return keeps the text for the next decision, Escape clears it; both hand
    the keyboard back to voting (``done``)."""

    done = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.clear()
            self.done.emit()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.done.emit()
            return
        super().keyPressEvent(event)


class VoteBar(QWidget):
    def __init__(self, actions: Actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actions_ref = actions
        self.class_buttons: list[QToolButton] = []  # index = digit key
        self._build_ui()

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 6)
        self.who = QLabel()
        self.who.setWordWrap(True)
        self.who.setMinimumWidth(1)  # a wrapped label would otherwise ask for its full text
        layout.addWidget(self.who)
        main = QHBoxLayout()
        a = self.actions_ref
        for action in (a.keep, a.drop, a.unsure, a.add_review):
            main.addWidget(self._button(action))
        self.note = NoteEdit()  # beside the buttons: the pane must fit small windows
        self.note.setPlaceholderText("note (Ctrl+E)")
        self.note.setToolTip("a note stored with the next decision (Ctrl+E; Enter: back to keys)")
        self.note.setAccessibleName("vote note")
        self.note.setClearButtonEnabled(True)
        self.note.setMinimumWidth(60)
        main.addWidget(self.note, 1)
        layout.addLayout(main)
        self.class_grid = QGridLayout()
        layout.addLayout(self.class_grid)
        for action in a.relabel:
            button = self._button(action)
            button.hide()  # shown once a project's classes are known
            self.class_buttons.append(button)
        for column, action in enumerate((a.pick_class, a.undo, a.redo)):
            self.class_grid.addWidget(self._button(action), LAST_ROW, column)
        a.note.triggered.connect(self.focus_note)

    def _button(self, action) -> QToolButton:  # type: ignore[no-untyped-def]
        button = QToolButton()
        button.setDefaultAction(action)
        return button

    def set_classes(self, class_names: list[str]) -> None:
        """Label each digit key's button with its class; buttons follow the class order."""
        mapping = key_classes(class_names)
        for button in self.class_buttons:
            self.class_grid.removeWidget(button)
        placed = sorted(mapping.items(), key=lambda item: item[1])
        for slot, (digit, _cls) in enumerate(placed):
            self.class_grid.addWidget(self.class_buttons[digit], slot // COLUMNS, slot % COLUMNS)
        for digit, (button, action) in enumerate(zip(self.class_buttons, self.actions_ref.relabel)):
            name = class_names[mapping[digit]] if digit in mapping else None
            action.setText(f"{digit}: {name}" if name is not None else str(digit))
            action.setToolTip(f"relabel to {name} ({digit})" if name is not None else "")
            action.setEnabled(name is not None)
            button.setVisible(name is not None)

    def set_who(self, text: str) -> None:
        self.who.setText(text)

    def focus_note(self) -> None:
        self.note.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.note.selectAll()

    def note_text(self) -> str | None:
        return self.note.text().strip() or None

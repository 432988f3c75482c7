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

from labelaudit.core.views import DROP_VOTE, UNSURE_VOTE
from labelaudit.gui.actions import Actions, key_classes

COLUMNS = 5  # up to ten class buttons (0-9) in two rows; fewer columns for long class names
# How a class button shows the given class, the model's suggestion and my current vote.
MARK_STYLE = {
    "given": "font-weight: bold;",
    "suggested": "border: 2px solid #d9730d;",
    "my vote": "background-color: #cfe2f7;",
}
LEAD_HEADER = "<b>Final decision (lead)</b>: your choice settles this image"


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
        layout.setContentsMargins(4, 0, 4, 4)
        self.who = QLabel()
        self.who.setWordWrap(True)
        self.who.setMinimumWidth(1)  # a wrapped label would otherwise ask for its full text
        layout.addWidget(self.who)
        self.lead_header = QLabel(LEAD_HEADER)  # shown while a lead's vote settles the image
        self.lead_header.setWordWrap(True)
        self.lead_header.setMinimumWidth(1)
        self.lead_header.hide()
        layout.addWidget(self.lead_header)
        a = self.actions_ref
        main = QHBoxLayout()
        self.keep_button, self.drop_button, self.unsure_button, self.add_button = (
            self._button(action) for action in (a.keep, a.drop, a.unsure, a.add_review)
        )
        for button in (self.keep_button, self.drop_button, self.unsure_button):
            main.addWidget(button)
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
        moves = QHBoxLayout()
        moves.setSpacing(2)  # four buttons in a narrow pane
        self.next_button = self._button(a.next_needing)
        for button in (
            self.next_button,
            *(self._button(x) for x in (a.pick_class, a.undo, a.redo)),
        ):
            moves.addWidget(button)
        moves.addStretch(1)
        layout.addLayout(moves)
        lead_row = QHBoxLayout()  # lead-only actions: hidden from annotators
        self.accept_button = self._button(a.accept)
        lead_row.addWidget(self.accept_button)
        lead_row.addWidget(self.add_button)
        lead_row.addStretch(1)
        layout.addLayout(lead_row)
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
        digit_names = all(class_names[cls] == str(digit) for digit, cls in mapping.items())
        longest = max((len(class_names[cls]) for cls in mapping.values()), default=0)
        columns = COLUMNS if digit_names else (3 if longest <= 8 else 2)
        for slot, (digit, _cls) in enumerate(placed):
            self.class_grid.addWidget(self.class_buttons[digit], slot // columns, slot % columns)
        for digit, (button, action) in enumerate(zip(self.class_buttons, self.actions_ref.relabel)):
            name = class_names[mapping[digit]] if digit in mapping else None
            shown = str(digit) if name is None or digit_names else f"{digit}: {name}"
            action.setText(shown)
            action.setToolTip(f"relabel to {name} ({digit})" if name is not None else "")
            action.setEnabled(name is not None)
            action.setVisible(name is not None)  # the Review menu lists the keys in use
            button.setVisible(name is not None)

    def set_marks(
        self, class_names: list[str], *, given: int, suggested: int, mine: int, lead_final: bool
    ) -> None:
        """Mark the buttons of the given class, the suggested class and my current vote (class
        indices, -1 for none; ``mine`` may be DROP_VOTE / UNSURE_VOTE), and say when the
        buttons settle the image (a lead on an image that waits for the lead)."""
        mapping = key_classes(class_names)
        for digit, button in enumerate(self.class_buttons):
            cls = mapping.get(digit, -2)
            roles = (("given", given), ("suggested", suggested), ("my vote", mine))
            _mark(button, [role for role, wanted in roles if wanted == cls])
        _mark(self.keep_button, ["my vote"] if mine >= 0 and mine == given else [])
        _mark(self.drop_button, ["my vote"] if mine == DROP_VOTE else [])
        _mark(self.unsure_button, ["my vote"] if mine == UNSURE_VOTE else [])
        self.lead_header.setVisible(lead_final)

    def set_who(self, text: str) -> None:
        self.who.setText(text)

    def focus_note(self) -> None:
        self.note.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.note.selectAll()

    def note_text(self) -> str | None:
        return self.note.text().strip() or None


def _mark(button: QToolButton, marks: list[str]) -> None:
    """Style ``button`` by its marks; the ``marks`` property names them (screen readers, tests)."""
    button.setStyleSheet(" ".join(MARK_STYLE[m] for m in marks))
    button.setProperty("marks", ", ".join(marks))
    button.setAccessibleDescription(", ".join(marks))

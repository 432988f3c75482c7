"""Voting buttons (each bound to the same action as its key): keep, drop, unsure, classes 1–9,
any class by name, undo and redo."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from labelaudit.gui.actions import N_CLASS_KEYS, Actions


class VoteBar(QWidget):
    def __init__(self, actions: Actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actions_ref = actions
        self.class_buttons: list[QToolButton] = []
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
        for action in (a.keep, a.drop, a.unsure):
            main.addWidget(self._button(action))
        layout.addLayout(main)
        self.class_grid = QGridLayout()
        layout.addLayout(self.class_grid)
        for i, action in enumerate(a.relabel):
            button = self._button(action)
            self.class_buttons.append(button)
            self.class_grid.addWidget(button, i // 3, i % 3)
            button.hide()  # shown once a project's classes are known
        last = N_CLASS_KEYS // 3
        for column, action in enumerate((a.pick_class, a.undo, a.redo)):
            self.class_grid.addWidget(self._button(action), last, column)

    def _button(self, action) -> QToolButton:  # type: ignore[no-untyped-def]
        button = QToolButton()
        button.setDefaultAction(action)
        return button

    def set_classes(self, class_names: list[str]) -> None:
        for i, (button, action) in enumerate(zip(self.class_buttons, self.actions_ref.relabel)):
            present = i < len(class_names)
            action.setText(f"{i + 1}: {class_names[i]}" if present else f"{i + 1}")
            action.setEnabled(present)
            button.setVisible(present)

    def set_who(self, text: str) -> None:
        self.who.setText(text)

"""The keyboard shortcuts sheet (F1 or ?): every key of every action, read from the actions
themselves so the sheet cannot drift from the keys, plus the keys that are not actions."""

from __future__ import annotations

import html
from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from labelaudit.gui.actions import Actions

# Keys handled by the grid itself rather than by an action.
GRID_KEYS = (
    ("← → ↑ ↓", "move between tiles"),
    ("Shift+click, Ctrl+click, Shift+arrows", "select several tiles: one key decides for all"),
    ("Enter / Esc in the note", "keep the note for the next decision / clear it"),
)


def keys_of(action: QAction) -> str:
    native = QKeySequence.SequenceFormat.NativeText
    return " / ".join(k.toString(native) for k in action.shortcuts())


def _plain(action: QAction) -> str:
    return action.text().replace("&", "").rstrip("…")


def sheet_sections(actions: Actions) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(keys, what)]) for the sheet; digit keys name their class."""
    a = actions
    digits = [
        (keys_of(d), d.toolTip().split(" (")[0] or "relabel") for d in a.relabel if d.isEnabled()
    ]

    def rows(items: Iterable[QAction]) -> list[tuple[str, str]]:
        return [(keys_of(x), _describe(x)) for x in items if keys_of(x)]

    return [
        ("Deciding", rows([a.keep, a.drop, a.unsure]) + digits + rows([a.pick_class, a.note])),
        ("Leads", rows([a.accept, a.add_review])),
        ("Moving", rows([a.next, a.previous, a.next_needing]) + list(GRID_KEYS)),
        ("Undo", rows([a.undo, a.redo])),
        ("View", rows([a.zoom_in, a.zoom_out, a.refresh, a.shortcuts])),
        ("File", rows([a.open_project, a.new_project, a.quit])),
    ]


def _describe(action: QAction) -> str:
    tip = action.toolTip().rsplit(" (", 1)[0].replace("&", "").rstrip("…")
    text = _plain(action)
    return text if tip.lower() == text.lower() else f"{text}: {tip}"


def sheet_html(actions: Actions) -> str:
    """One table (the key column lines up across sections), a heading row per section."""
    parts = []
    for title, rows in sheet_sections(actions):
        if not rows:
            continue
        parts.append(f"<tr><td colspan='2'><h3>{title}</h3></td></tr>")
        parts += [
            f"<tr><td width='38%' style='padding-right:12px'><b>{html.escape(keys)}</b></td>"
            f"<td>{html.escape(what)}</td></tr>"
            for keys, what in rows
        ]
    return f"<table width='100%'>{''.join(parts)}</table>"


class ShortcutsDialog(QDialog):
    def __init__(self, actions: Actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actions_ref = actions
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidget(self.text)
        scroll.setWidgetResizable(True)
        layout.addWidget(scroll)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        for key in actions.shortcuts.shortcuts():  # F1 again (or ?) closes the sheet
            QShortcut(key, self).activated.connect(self.reject)
        self.resize(460, 560)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the keys (the digit keys follow the open project's classes)."""
        self.text.setText(sheet_html(self.actions_ref))

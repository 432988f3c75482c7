"""The app's actions and their keys: every key works anywhere in the window except while typing
in a text field (Qt gives printable keys to the focused line edit first)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

DIGITS = tuple(range(10))  # the relabel keys 0-9 (index = digit)


def key_classes(class_names: list[str]) -> dict[int, int]:
    """digit key -> class index. Classes named "0".."9" (digits) get the key of their own name,
    so "2" always means class "2"; otherwise keys 1-9 pick the first nine classes in order and 0
    the tenth (as on the keyboard's number row). Classes beyond ten: the picker (C)."""
    if class_names and all(len(n) == 1 and n in "0123456789" for n in class_names):
        return {int(name): i for i, name in enumerate(class_names)}
    return {(i + 1) % 10: i for i in range(min(10, len(class_names)))}


def _action(
    parent: QWidget, text: str, *keys: str | QKeySequence.StandardKey, tip: str = ""
) -> QAction:
    action = QAction(text, parent)
    sequences = [QKeySequence(k) for k in keys]
    if sequences:
        action.setShortcuts(sequences)
    action.setToolTip(f"{tip or text} ({sequences[0].toString()})" if sequences else tip or text)
    parent.addAction(action)  # shortcuts work even when the menu bar is hidden
    return action


def _show_key(action: QAction) -> None:
    """Button caption "Keep (K)": the text without its menu accelerator, then the first key."""
    keys = action.shortcuts()
    text = action.text().replace("&", "").rstrip("…")
    key = keys[0].toString(QKeySequence.SequenceFormat.NativeText) if keys else ""
    action.setIconText(f"{text} ({key})" if key else text)


class Actions(QObject):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        w = window
        # File
        self.open_project = _action(w, "&Open project…", QKeySequence.StandardKey.Open)
        self.new_project = _action(w, "&New project…", QKeySequence.StandardKey.New)
        self.close_project = _action(w, "&Close project")
        self.who = _action(w, "&Who is working…")
        self.export_report = _action(
            w, "Export &report…", tip="the audit as one HTML page to send (labelaudit report)"
        )
        self.quit = _action(w, "&Quit", QKeySequence.StandardKey.Quit)
        # Review
        self.keep = _action(w, "&Keep", "K", tip="keep the given label")
        self.drop = _action(w, "&Drop", "D", tip="not a valid image of any class")
        self.unsure = _action(w, "&Unsure", "U", tip="abstain")
        # relabel[d] is the action of digit key d; key_classes says which class it picks.
        self.relabel = [_action(w, str(d), str(d), tip="relabel") for d in DIGITS]
        self.pick_class = _action(w, "Other class…", "C", tip="choose any class by typing its name")
        self.note = _action(w, "Note…", "Ctrl+E", tip="write a note for the next decision")
        self.add_review = _action(
            w, "Add to &review", "R", tip="put the image(s) into review (leads)"
        )
        self.accept = _action(
            w,
            "&Accept proposal",
            "A",
            tip="leads: decide what waits for you as the consensus, else the model's pick",
        )
        self.next = _action(w, "&Next", "N", "Space", tip="next image")
        self.previous = _action(w, "&Previous", "Backspace", tip="previous image")
        self.next_needing = _action(w, "Next needing &me", "J", tip="next image needing my vote")
        self.undo = _action(w, "&Undo", QKeySequence.StandardKey.Undo)
        self.redo = _action(w, "&Redo", "Ctrl+Shift+Z", "Ctrl+Y")
        # View
        self.zoom_in = _action(w, "Larger tiles", "Ctrl++", "Ctrl+=")
        self.zoom_out = _action(w, "Smaller tiles", "Ctrl+-")
        self.refresh = _action(w, "Refresh", QKeySequence.StandardKey.Refresh)
        self.legend = _action(w, "Tile &legend…", tip="what the badges on the tiles mean")
        self.shortcuts = _action(w, "&Keyboard shortcuts…", "F1", "?", tip="every key")
        # Scan
        self.scan = _action(w, "Run &scan…")
        # The vote bar's buttons show their key (a button shows the action's icon text).
        actions = (self.keep, self.drop, self.unsure, self.next_needing, self.add_review)
        for action in (*actions, self.accept):
            _show_key(action)
        self.pick_class.setIconText("Other (C)")  # Undo and Redo: their tooltips show the keys

    @property
    def decisions(self) -> list[QAction]:
        return [self.keep, self.drop, self.unsure, *self.relabel, self.pick_class, self.note]

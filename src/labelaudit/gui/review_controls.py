"""The voting actions wired to the session: keys and buttons -> one decision on the current image
or on the selected tiles, with the note typed in the vote bar.

A decision on many images at once asks first when it covers more than ``BULK_CONFIRM_OVER``.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox

from labelaudit.core.commands import AcceptCommand
from labelaudit.core.consensus.decisions import LABEL, Decision
from labelaudit.core.views.lead_queue import accept_list
from labelaudit.gui.actions import key_classes
from labelaudit.gui.dialogs.class_picker import ClassPicker
from labelaudit.gui.session import INFO, STATUS
from labelaudit.gui.window_parts import WindowParts

BULK_CONFIRM_OVER = 100


class ReviewControls(QObject):
    def __init__(self, window: WindowParts) -> None:
        super().__init__(window.window())
        self.window = window
        self.session = window.session
        self._connect()

    def _connect(self) -> None:
        a, s = self.window.actions_, self.session
        a.keep.triggered.connect(lambda: self.decide("keep"))
        a.drop.triggered.connect(lambda: self.decide("drop"))
        a.unsure.triggered.connect(lambda: self.decide("unsure"))
        for digit, action in enumerate(a.relabel):
            action.triggered.connect(lambda _=False, d=digit: self.relabel_key(d))
        a.pick_class.triggered.connect(self.pick_class)
        a.add_review.triggered.connect(lambda: s.add_to_review(self.targets()))
        a.accept.triggered.connect(self.accept)
        a.next.triggered.connect(lambda: s.step(1))
        a.previous.triggered.connect(lambda: s.step(-1))
        a.next_needing.triggered.connect(self.next_needing)
        a.undo.triggered.connect(s.undo)
        a.redo.triggered.connect(s.redo)
        self.window.vote_bar.note.done.connect(self._back_to_grid)

    def targets(self) -> list[int] | None:
        """The selected tiles when several are selected (one decision for all), else None."""
        rows = self.window.grid.selected_rows()
        return rows if len(rows) > 1 else None

    def decide(self, decision: Decision | str) -> bool:
        rows = self.targets()
        count = len(rows) if rows else 1
        if count > BULK_CONFIRM_OVER and not self._confirm(count, str(decision)):
            return False
        note = self.window.vote_bar.note_text()
        done = self.session.decide(decision, rows, note=note)
        if done:
            self.window.vote_bar.note.clear()  # a note belongs to one decision
        return done

    def relabel_key(self, digit: int) -> bool:
        """Digit key ``digit``: the class ``key_classes`` gives it."""
        data = self.session.data
        if data is None:
            return False
        cls = key_classes(data.class_names).get(digit)
        return cls is not None and self.relabel(cls)

    def relabel(self, cls: int) -> bool:
        data = self.session.data
        if data is None or not 0 <= cls < data.k:
            return False
        return self.decide(Decision(LABEL, data.class_names[cls]))

    def pick_class(self) -> None:
        data = self.session.data
        if data is None:
            return
        picker = ClassPicker(data.class_names, self.window.window())
        if picker.exec() and picker.chosen is not None:
            self.relabel(picker.chosen)

    def accept(self) -> bool:
        """A (leads): the images waiting for the lead, current or selected, get their proposed
        decision (the consensus, else the method's or the model's pick): one undo step."""
        s, data = self.session, self.session.data
        if data is None or s.project is None:
            return False
        if s.annotator is None or not s.annotator.is_lead:
            s.message.emit(STATUS, "only a lead accepts a proposed decision (A)")
            return False
        rows = self.targets() or ([s.current_row] if 0 <= s.current_row < data.n else [])
        picks = accept_list(data, rows)
        if not picks:
            s.message.emit(
                STATUS,
                "nothing to accept: no image here waits for the lead with a consensus or a "
                "model's pick (decide with K, D or a class key)",
            )
            return False
        if len(picks) > BULK_CONFIRM_OVER and not self._confirm(len(picks), "accept proposal"):
            return False
        command = AcceptCommand(s.project.store, lead=s.annotator.name, picks=picks)
        if not s.push_decision(command, single=len(rows) == 1):
            return False
        if len(picks) < len(rows):
            s.message.emit(
                INFO,
                f"accepted {len(picks)}; {len(rows) - len(picks)} skipped (not waiting for the "
                "lead, or nothing to accept)",
            )
        return True

    def next_needing(self) -> None:
        if not self.session.next_needing_me():
            self.session.message.emit(INFO, "nothing in this view needs your vote")

    def _confirm(self, count: int, decision: str) -> bool:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Decide for many images?",
            f"Apply “{decision}” to {count:,} selected images?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self.window.window(),
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box.exec() == QMessageBox.StandardButton.Yes

    def _back_to_grid(self) -> None:
        self.window.grid.setFocus(Qt.FocusReason.ShortcutFocusReason)

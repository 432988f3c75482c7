"""The app's session: the state behind the widgets (``session_state.py``) plus the decisions.

A decision, an undo or a redo is a core command on the undo stack, stored at once; the poll
re-reads votes when someone else changed the project.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labelaudit.core.codes import ImageStatus
from labelaudit.core.commands import (
    AddToReviewCommand,
    BulkVoteCommand,
    Command,
    ResolveCommand,
    ResolveManyCommand,
    VoteCommand,
)
from labelaudit.core.consensus.decisions import LABEL, Decision
from labelaudit.core.errors import LabelauditError
from labelaudit.core.store.scan_results import latest_scan_id
from labelaudit.core.views import STATE_CODE
from labelaudit.gui.decision_commands import CompositeCommand, decision_command
from labelaudit.gui.session_state import (
    ERROR,
    INFO,
    STATUS,
    WARNING,
    SessionState,
)

__all__ = [
    "ERROR",
    "INFO",
    "STATUS",
    "WARNING",
    "ReviewSession",
]


class ReviewSession(SessionState):
    """The session the window and the panels share: :class:`SessionState` plus the decisions."""

    # -- decisions ------------------------------------------------------------------------------
    def decide(
        self, decision: Decision | str, rows: list[int] | None = None, *, note: str | None = None
    ) -> bool:
        """Keep / drop / unsure / a class for the current image, or for ``rows`` (a selection).

        An annotator votes; a lead on an image that waits for the lead resolves it. The action
        is a core command on the undo stack, stored at once. After one image the next image that
        needs me (in the grid's order) comes up by itself. ``note`` is stored with each vote or
        decision.
        """
        data, project, who = self.data, self.project, self.annotator
        if data is None or project is None:
            return False
        if who is None:
            self.message.emit(WARNING, "choose who is working first (File ▸ Who is working…)")
            return False
        targets = [r for r in (rows or [self.current_row]) if 0 <= r < data.n]
        if not targets:
            self.message.emit(STATUS, "no image selected: click a tile, or press N or J")
            return False
        usable = [r for r in targets if data.status[r] == ImageStatus.OK.value]
        if not usable:
            self.message.emit(WARNING, "nothing to vote on: the image is broken or missing")
            return False
        final = [r for r in usable if data.state[r] == STATE_CODE["resolved"]]
        command = decision_command(
            data,
            project.store,
            who,
            decision,
            usable,
            note=note,
            suggestion_shown=bool(self.settings.get("show_suggestion", True)),
        )
        if not self.push_decision(command, single=len(usable) == 1):
            return False
        if final and not who.is_lead:
            self.message.emit(
                STATUS,
                "vote kept, but the lead's decision is final: it changes nothing"
                if len(final) == 1
                else f"votes kept; {len(final)} images have the lead's final decision",
            )
        if len(usable) < len(targets):
            self.message.emit(WARNING, f"{len(targets) - len(usable)} broken images were skipped")
        return True

    def push_decision(self, command: Command, *, single: bool) -> bool:
        """Do a decision command as one undo step; after one image the next image that needs
        me (in my queue's order) comes up by itself."""
        follow = self._next_target() if single else -1
        try:
            self.undo_stack.push(command)
        except LabelauditError as exc:
            self.message.emit(ERROR, str(exc))
            return False
        self._preferred_row = follow
        self.succeeded.emit()
        try:
            self.refresh_review()
        finally:
            self._preferred_row = -1
        if single and not self._go_to(follow):
            self.message.emit(INFO, "nothing else needs your vote in this view")
        return True

    def add_to_review(self, rows: list[int] | None = None) -> bool:
        """A lead puts images into review (they then need votes like flagged ones)."""
        data, project, who = self.data, self.project, self.annotator
        if data is None or project is None:
            return False
        if who is None or not who.is_lead:
            self.message.emit(STATUS, "only a lead can add images to review (R)")
            return False
        targets = [r for r in (rows or [self.current_row]) if 0 <= r < data.n]
        ids = [int(data.image_ids[r]) for r in targets if data.status[r] == ImageStatus.OK.value]
        if not ids:
            self.message.emit(WARNING, "nothing to add: the image is broken or missing")
            return False
        command = AddToReviewCommand(project.store, lead=who.name, image_ids=ids)
        try:
            self.undo_stack.push(command)  # one undo step, like every other action
        except LabelauditError as exc:
            self.message.emit(ERROR, str(exc))
            return False
        self.refresh_review()
        added = command.added
        already = len(ids) - len(added)
        extra = f" ({already} already in review)" if already else ""
        self.message.emit(INFO, f"{len(added)} image(s) added to review{extra}")
        return True

    def relabel(
        self, class_index: int, rows: list[int] | None = None, *, note: str | None = None
    ) -> bool:
        if self.data is None or not 0 <= class_index < self.data.k:
            return False
        return self.decide(Decision(LABEL, self.data.class_names[class_index]), rows, note=note)

    def undo(self) -> None:
        self._undo_redo(self.undo_stack.undo, "undo")

    def redo(self) -> None:
        self._undo_redo(self.undo_stack.redo, "redo")

    def _undo_redo(self, action: Callable[[], Command | None], what: str) -> None:
        try:
            command = action()
        except LabelauditError as exc:
            self.message.emit(ERROR, str(exc))
            return
        if command is None:
            self.message.emit(STATUS, f"nothing to {what}")
            return
        self.succeeded.emit()
        self.refresh_review()
        image_ids = _command_images(command)
        if image_ids and self.data is not None:
            row = int(self.data.row_of(np.array(image_ids[:1]))[0])
            if row >= 0:
                self.set_current(row)
        self.message.emit(
            INFO, f"{'undid' if self.undo_stack.can_redo else 'redid'}: {command.text}"
        )

    # -- other people's changes -----------------------------------------------------------------
    def poll_changes(self) -> bool:
        """Re-read votes when someone else changed the project; True if something changed."""
        if self.project is None:
            return False
        try:
            counter = self.project.store.change_counter()
        except LabelauditError as exc:
            self.message.emit(WARNING, f"cannot check for new votes: {exc}")
            return False
        if counter == self.change_counter:
            return False
        try:
            with self.project.store.read() as conn:
                newest_scan = latest_scan_id(conn)
        except LabelauditError:
            newest_scan = None
        if self.data is not None and newest_scan != self.data.scan_id:
            return self.reload()  # a scan finished elsewhere: new suggestions and flags
        return self.refresh_review()


def _command_images(command: Command) -> list[int]:
    if isinstance(command, CompositeCommand):
        return [i for part in command.commands for i in _command_images(part)]
    if isinstance(command, BulkVoteCommand | ResolveManyCommand):
        return command.image_ids
    if isinstance(command, VoteCommand):
        return [command.request.image_id]
    if isinstance(command, ResolveCommand):
        return [command.image_id]
    return []

"""The app's state behind the widgets: project, who is working, data, filters, current image.

Widgets talk to the session and listen to its signals (glue's message-hub idea) rather than
calling each other. Everything heavy is in the core (``core.views``); this only sequences it.
This is the state and the moves through the view; ``session.py`` adds the decisions, undo and
the polling for other people's changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from labelaudit.core.codes import VoteKind
from labelaudit.core.commands import UndoStack
from labelaudit.core.consensus.annotators import Annotator
from labelaudit.core.consensus.rules import reveals, team_warning
from labelaudit.core.errors import LabelauditError
from labelaudit.core.project import Project
from labelaudit.core.views import (
    NO_VOTE,
    STATE_CODE,
    ClassStats,
    Filters,
    GridView,
    ReviewData,
    build_view,
    class_stats,
    filter_mask,
    load_review_data,
    needs_me,
    shown_states,
)
from labelaudit.core.views.lead_queue import VoteSplit, next_in_queue, queue_key, vote_split
from labelaudit.core.views.review_state import apply_review

INFO, WARNING, ERROR = "info", "warning", "error"
STATUS = "status"  # a short note for the status bar: an action that did nothing, or a fact
# Votes are written on the GUI thread: a locked database may hold the window this long at most
# before the vote fails with a message (the CLI waits longer).
INTERACTIVE_LOCK_TIMEOUT_S = 2.0


class SessionState(QObject):
    """What is open and shown; ``ReviewSession`` (``session.py``) adds the decisions."""

    project_changed = Signal()  # a project was opened or closed
    data_changed = Signal()  # arrays changed (new scan, votes): counts and tiles refresh
    view_changed = Signal()  # the rows shown changed (filters, data)
    current_changed = Signal(int)  # row of ReviewData, -1 for none
    message = Signal(str, str)  # level, text: shown without blocking
    succeeded = Signal()  # a decision or an undo went through: stale problems may go

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.db_url: str | None = None
        self.annotator: Annotator | None = None
        self.data: ReviewData | None = None
        self.settings: dict[str, object] = {}
        self.filters = Filters()
        self.view: GridView | None = None
        self.shown = np.zeros(0, dtype=np.uint8)
        self.queue = np.zeros(0)  # queue_key: the order "next needing me" follows
        self.split: VoteSplit | None = None
        self.stats: ClassStats | None = None
        self.current_row = -1
        self.undo_stack = UndoStack()
        self.change_counter = 0
        self._preferred_row = -1  # where to go when the current image leaves the view

    # -- project --------------------------------------------------------------------------------
    def open_project(self, folder: Path, *, db_url: str | None = None) -> bool:
        """Open a project; a failure becomes a message and leaves the previous one open."""
        try:
            project = Project.open(folder, db_url=db_url)
        except LabelauditError as exc:
            self.message.emit(ERROR, str(exc))
            return False
        self.close_project()
        project.store.lock_timeout_s = min(project.store.lock_timeout_s, INTERACTIVE_LOCK_TIMEOUT_S)
        self.project = project
        self.db_url = db_url
        self.annotator = None
        self.undo_stack.clear()
        self.filters = Filters()
        self.project_changed.emit()
        return self.reload()

    def close_project(self) -> None:
        if self.project is None:
            return
        self.project.close()
        self.project, self.data, self.view, self.stats = None, None, None, None
        self.current_row = -1
        self.undo_stack.clear()
        self.project_changed.emit()

    def set_annotator(self, annotator: Annotator | None) -> None:
        self.annotator = annotator
        self.undo_stack.clear()
        if self.data is not None and self.project is not None and self.refresh_review():
            self.set_current(self._first_row())  # start where this person's work is

    @property
    def is_lead(self) -> bool:
        return self.annotator is not None and self.annotator.is_lead

    @property
    def blind(self) -> bool:
        return bool(self.settings.get("blind", True))

    def suggestion_visible(self, row: int) -> bool:
        """The model's suggestion shows unless the project hides it until I voted."""
        if self.data is None or row < 0:
            return False
        return bool(self.settings.get("show_suggestion", True)) or self.data.my_vote[row] != NO_VOTE

    def others_votes(self, row: int) -> list[tuple[str, str, float | None]] | None:
        """(name, decision, quality) of other people's current votes on an image, or None when
        blind mode hides them (a non-lead who has not voted on it yet). The annotator's quality
        score of the consensus method is given to leads only (None otherwise or if unknown)."""
        data = self.data
        if data is None or data.review is None or row < 0:
            return []
        in_review = data.state[row] != STATE_CODE["unflagged"]
        voted = np.array([data.my_vote[row] != NO_VOTE])
        if in_review and not reveals(voted, blind=self.blind, is_lead=self.is_lead)[0]:
            return None
        votes = data.review.data.votes
        names = {a.id: a.name for a in data.review.data.annotators}
        me = self.annotator.id if self.annotator else None
        mine = (votes.image_ids == data.image_ids[row]) & (votes.annotator_ids != (me or -1))
        quality = self._annotator_quality() if self.is_lead else {}
        out = []
        for who, kind, label in zip(
            votes.annotator_ids[mine], votes.kind[mine], votes.labels[mine], strict=True
        ):
            text = data.class_names[int(label)] if label >= 0 else VoteKind(int(kind)).label
            out.append((names.get(int(who), "?"), text, quality.get(int(who))))
        return out

    def _annotator_quality(self) -> dict[int, float]:
        """Annotator id -> quality score of the consensus method (known scores only)."""
        review = self.data.review if self.data is not None else None
        if review is None:
            return {}
        scores = review.result.annotator_quality
        people = review.data.annotators
        return {p.id: float(q) for p, q in zip(people, scores, strict=True) if np.isfinite(q)}

    # -- data -----------------------------------------------------------------------------------
    def reload(self) -> bool:
        """Read everything again (after opening, or when a scan finished)."""
        if self.project is None:
            return False
        try:
            self.settings = self.project.settings()
            self.change_counter = self.project.store.change_counter()
            self.data = load_review_data(
                self.project.store, annotator_id=self.annotator.id if self.annotator else None
            )
        except LabelauditError as exc:
            self.message.emit(ERROR, str(exc))
            return False
        self._derive()
        self.data_changed.emit()
        self._rebuild_view()
        self._warn_team()
        return True

    def _warn_team(self) -> None:
        """Say so when votes_required exceeds the team (``rules.team_warning``)."""
        review = self.data.review if self.data is not None else None
        if review is not None:
            required = review.data.settings["votes_required"]
            warning = team_warning(int(required), review.data.annotators)
            if warning:
                self.message.emit(INFO, warning)

    def refresh_review(self) -> bool:
        """Re-read votes and states only (another person voted, or I did)."""
        if self.project is None or self.data is None:
            return False
        try:
            self.change_counter = self.project.store.change_counter()
            self.data.review = apply_review(
                self.data,
                self.project.store,
                annotator_id=self.annotator.id if self.annotator else None,
            )
        except LabelauditError as exc:
            self.message.emit(WARNING, str(exc))
            return False
        self._derive()
        self.data_changed.emit()
        if self.filters.shown_state is not None:
            self._rebuild_view()
        return True

    def _derive(self) -> None:
        assert self.data is not None
        self.shown = shown_states(self.data, blind=self.blind, is_lead=self.is_lead)
        self.stats = class_stats(self.data)
        # The lead's queue (riskiest first) and the vote splits the tiles show, blind-checked.
        self.queue = queue_key(self.data, self.shown, is_lead=self.is_lead)
        viewer = self.annotator.id if self.annotator else None
        self.split = vote_split(self.data, viewer_id=viewer)

    # -- view -----------------------------------------------------------------------------------
    def set_filters(self, filters: Filters) -> None:
        if filters == self.filters:
            return
        self.filters = filters
        self._rebuild_view()

    def _rebuild_view(self) -> None:
        if self.data is None:
            return
        self.view = build_view(self.data, filter_mask(self.data, self.filters, self.shown))
        self.view_changed.emit()
        rows = self.view.rows
        if self.current_row >= 0 and not np.any(rows == self.current_row):
            preferred = self._preferred_row
            if preferred >= 0 and np.any(rows == preferred):
                self.set_current(preferred)
            else:
                self.set_current(int(rows[0]) if rows.size else -1)
        elif self.current_row < 0 and rows.size:
            self.set_current(self._first_row())

    def view_index_of(self, row: int) -> int:
        if self.view is None or row < 0:
            return -1
        hits = np.flatnonzero(self.view.rows == row)
        return int(hits[0]) if hits.size else -1

    def set_current(self, row: int) -> None:
        if row == self.current_row:
            return
        self.current_row = row
        self.current_changed.emit(row)

    def step(self, delta: int) -> None:
        """Next (1) or previous (-1) image in the view's order."""
        if self.view is None or len(self.view) == 0:
            return
        here = self.view_index_of(self.current_row)
        target = min(max(here + delta, 0), len(self.view) - 1) if here >= 0 else 0
        self.set_current(int(self.view.rows[target]))

    def next_needing_me(self) -> bool:
        """Move to the next image in view order that waits for my vote; False if none does."""
        if self.view is None or self.data is None:
            return False
        wanted = needs_me(self.shown, is_lead=self.is_lead)
        target = next_in_queue(self.view, wanted, self.queue, self.view_index_of(self.current_row))
        if target < 0:
            return False
        self.set_current(int(self.view.rows[target]))
        return True

    def _first_row(self) -> int:
        """The first image in view order that needs me, else the view's first; -1 if empty."""
        if self.view is None or len(self.view) == 0:
            return -1
        wanted = needs_me(self.shown, is_lead=self.is_lead)
        target = next_in_queue(self.view, wanted, self.queue, -1)
        return int(self.view.rows[max(target, 0)])

    def _next_target(self) -> int:
        """The row that should come up after deciding on the current image: the next one that
        needs me in view order, found BEFORE the decision changes the view; -1 for none."""
        if self.view is None or self.data is None:
            return -1
        wanted = needs_me(self.shown, is_lead=self.is_lead).copy()
        if 0 <= self.current_row < wanted.shape[0]:
            wanted[self.current_row] = False
        target = next_in_queue(self.view, wanted, self.queue, self.view_index_of(self.current_row))
        return int(self.view.rows[target]) if target >= 0 else -1

    def _go_to(self, target: int) -> bool:
        """Show ``target`` if it still needs me and is in view, else search from here."""
        wanted = needs_me(self.shown, is_lead=self.is_lead)
        if 0 <= target < wanted.shape[0] and wanted[target] and self.view_index_of(target) >= 0:
            self.set_current(target)
            return True
        return self.next_needing_me()

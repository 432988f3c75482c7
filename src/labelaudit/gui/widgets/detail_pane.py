"""The current image: large view, labels, top-5 probabilities, issues, file facts, and strips of
typical images of the given and the suggested class."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from labelaudit.core.codes import issue_names
from labelaudit.core.errors import LabelauditError
from labelaudit.core.paths import disk_path
from labelaudit.core.views import (
    BROKEN_BIT,
    DROP_VOTE,
    NO_VOTE,
    STATE_CODE,
    image_facts,
    scan_array_row,
    scan_embeddings,
    top_classes,
    typical_rows,
)
from labelaudit.core.views.lead_queue import accept_confidence, accept_list
from labelaudit.gui.session import ReviewSession
from labelaudit.gui.style import STATE_LOOK
from labelaudit.gui.widgets.image_view import ImageView
from labelaudit.gui.widgets.prob_bars import ProbBars, percent
from labelaudit.gui.widgets.typical_strip import TypicalStrip
from labelaudit.gui.workers.image_job import ImageLoader
from labelaudit.gui.workers.thumbs import ThumbLoader, ThumbSource

STRIP_SIZE = 8


class DetailPane(QWidget):
    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.image_loader = ImageLoader(self)
        self.strip_loader = ThumbLoader(self, cache_bytes=16 * 1024 * 1024)
        self._embeddings: tuple[int | None, np.ndarray | None] = (None, None)
        # Updates are coalesced: the grid paints first, and a held-down N key stays smooth.
        self._pending_row = -1
        self._update_timer = QTimer(self)
        self._update_timer.setSingleShot(True)
        self._update_timer.setInterval(0)
        self._build_ui()
        self._connect()

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.image_view = ImageView()
        self.image_error = QLabel()
        self.image_error.setWordWrap(True)
        self.image_error.hide()
        form = QFormLayout()
        self.given = QLabel()
        self.suggested = QLabel()
        self.quality = QLabel()
        self.issues = QLabel()
        self.vote_state = QLabel()  # one line per vote: the lead settles from it
        self.facts = QLabel()
        for text in (self.given, self.suggested, self.issues, self.vote_state, self.facts):
            text.setWordWrap(True)  # wrap, never clip
            text.setMinimumWidth(1)  # a wrapped label would otherwise ask for its full text
        for label, widget in (
            ("Given", self.given),
            ("Suggested", self.suggested),
            ("Label quality", self.quality),
            ("Issues", self.issues),
            ("Votes", self.vote_state),
            ("File", self.facts),
        ):
            form.addRow(label, widget)
        self.probs = ProbBars()
        self.given_strip = TypicalStrip(self.strip_loader)
        self.suggested_strip = TypicalStrip(self.strip_loader)
        layout.addWidget(self.title)
        layout.addWidget(self.image_view, 3)
        layout.addWidget(self.image_error)
        layout.addLayout(form)
        layout.addWidget(QLabel("Top classes"))
        layout.addWidget(self.probs)
        layout.addWidget(self.given_strip)
        layout.addWidget(self.suggested_strip)
        self.setMinimumWidth(280)

    def _connect(self) -> None:
        self.session.current_changed.connect(self.schedule_row)
        self.session.data_changed.connect(lambda: self.schedule_row(self.session.current_row))
        self._update_timer.timeout.connect(lambda: self.show_row(self._pending_row))
        self.session.project_changed.connect(self._on_project)
        self.image_loader.loaded.connect(self._on_image)

    def shutdown(self) -> None:
        self.image_loader.shutdown()
        self.strip_loader.shutdown()

    def _on_project(self) -> None:
        project = self.session.project
        self._embeddings = (None, None)
        source = (
            ThumbSource(project.store, project.image_root, project.thumb_dir) if project else None
        )
        self.strip_loader.set_source(source)
        self.show_row(-1)

    # -- showing one image ----------------------------------------------------------------------
    def schedule_row(self, row: int) -> None:
        self._pending_row = row
        self._update_timer.start()

    @property
    def busy(self) -> bool:
        """An update or the image load is still to come."""
        return self._update_timer.isActive() or self.image_loader.pending

    def show_row(self, row: int) -> None:
        data, project = self.session.data, self.session.project
        if data is None or project is None or not 0 <= row < data.n:
            self._clear()
            return
        path = data.path(row)
        self.title.setText(f"<b>{html.escape(path)}</b>")
        self.image_loader.load(disk_path(project.image_root, path))
        label, suggested = int(data.labels[row]), int(data.suggested[row])
        self.given.setText(data.class_names[label] if label >= 0 else "(no label)")
        reveal = self.session.suggestion_visible(row)
        if not reveal:
            suggested = -1
            self.suggested.setText("hidden until you vote")
        elif suggested >= 0:
            prob = float(data.suggested_prob[row])
            differs = " (differs)" if suggested != label else ""
            self.suggested.setText(f"{data.class_names[suggested]} {percent(prob)}{differs}")
        elif reveal:
            self.suggested.setText("—")
        quality = float(data.label_quality[row])
        self.quality.setText(quality_text(quality))
        flags = int(data.issue_flags[row])
        names = issue_names(flags) + (["broken"] if flags & BROKEN_BIT else [])
        flagged = "flagged; " if data.flagged[row] else ""
        self.issues.setText(flagged + (", ".join(names) or "none"))
        self.vote_state.setText(self._vote_text(row))
        self._show_facts(int(data.image_ids[row]))
        if reveal:
            self._show_probs(row)
        else:
            self.probs.set_items([])
        self._show_strips(row, label, suggested)

    def _clear(self) -> None:
        self.title.setText("No image selected")
        self.image_view.set_image(None)
        self.image_error.hide()
        for label in (self.given, self.suggested, self.quality, self.issues):
            label.setText("")
        self.vote_state.setText("")
        self.facts.setText("")
        self.facts.setToolTip("")
        self.probs.set_items([])
        self.given_strip.set_items("", [])
        self.suggested_strip.set_items("", [])

    def _vote_text(self, row: int) -> str:
        """Rich text: the state with the lead's reason or the vote count, then one line per
        vote (annotator, vote, quality)."""
        data = self.session.data
        assert data is not None
        shown = int(self.session.shown[row]) if row < self.session.shown.shape[0] else 0
        # The state in words, or more precisely why it waits ("needs the lead — tie").
        progress = review_progress(self.session, row)
        lines = progress or [STATE_LOOK[shown][2] if shown in STATE_LOOK else "not in review"]
        lines += proposal_lines(self.session, row)
        mine = int(data.my_vote[row])
        if mine != NO_VOTE:
            lines.append(f"my vote: {_vote_name(data.class_names, mine)}")
        others = self.session.others_votes(row)
        if others is None:
            lines.append("others' votes hidden until you vote")
        elif others:
            lines.append("others:")
            lines += ["• " + _vote_entry(*vote) for vote in others]
        return "<br>".join(html.escape(line) for line in lines)

    def _show_facts(self, image_id: int) -> None:
        try:
            facts: dict[str, Any] | None = image_facts(self.session.project.store, image_id)  # type: ignore[union-attr]
        except LabelauditError as exc:
            self.facts.setText(str(exc))
            return
        if facts is None:
            self.facts.setText("not in the project any more")
            return
        parts = [f"{facts['width'] or '?'}×{facts['height'] or '?'} px"]
        parts.append(f"{(facts['size'] or 0) / 1024:.1f} KB")
        parts.append(f"{facts['format'] or '?'} {facts['mode'] or ''}".strip())
        if facts["split"]:
            parts.append(f"split {facts['split']}")
        if facts["status"] != "ok":
            parts.append(f"<b>{facts['status']}</b>: {facts['problem'] or ''}")
        self.facts.setText(" · ".join(html.escape(p) if "<b>" not in p else p for p in parts))
        self.facts.setToolTip(f"sha256 {facts['sha256']}" if facts["sha256"] else "")

    def _show_probs(self, row: int) -> None:
        data, project = self.session.data, self.session.project
        assert data is not None and project is not None
        if data.scan_id is None or data.scan_row[row] < 0:
            self.probs.set_items([])
            return
        try:
            probs = scan_array_row(
                project.store, data.scan_id, "pred_probs", int(data.scan_row[row])
            )
        except LabelauditError:
            probs = None
        if probs is None:
            self.probs.set_items([])
            return
        names = data.scan_class_names
        given = data.class_names[int(data.labels[row])] if data.labels[row] >= 0 else None
        top = top_classes(probs, k=5)
        best = names[top[0][0]] if top else None
        if given in names and all(names[c] != given for c, _ in top):
            column = names.index(given)  # the given class always has its row
            top = [*top, (column, float(probs[column]))]
        items = []
        for column, prob in top:
            name = names[column] if column < len(names) else str(column)
            role = "given" if name == given else ("best" if name == best else "")
            items.append((name, prob, role))
        self.probs.set_items(items)

    def _show_strips(self, row: int, label: int, suggested: int) -> None:
        data = self.session.data
        assert data is not None
        embeddings = self._scan_embeddings()
        method = "nearest" if embeddings is not None else "most confident"
        wanted: list[tuple[int, str]] = []
        for strip, cls, role in (
            (self.given_strip, label, "given"),
            (self.suggested_strip, suggested, "suggested"),
        ):
            if cls < 0 or (role == "suggested" and cls == label):
                strip.set_items("", [])
                continue
            rows = typical_rows(data, cls, current=row, embeddings=embeddings, k=STRIP_SIZE)
            items = [(int(r), int(data.image_ids[r]), data.path(int(r))) for r in rows]
            strip.set_items(f"{role} class {data.class_names[cls]}: {method}", items)
            wanted += [(image_id, path) for _, image_id, path in items]
        self.strip_loader.request(wanted, [])

    def _scan_embeddings(self) -> np.ndarray | None:
        data, project = self.session.data, self.session.project
        if data is None or project is None or data.scan_id is None:
            return None
        if self._embeddings[0] != data.scan_id:
            try:
                self._embeddings = (data.scan_id, scan_embeddings(project.store, data.scan_id))
            except LabelauditError:
                self._embeddings = (data.scan_id, None)
        return self._embeddings[1]

    def _on_image(self, image: QImage, error: str) -> None:
        self.image_view.set_image(image if not image.isNull() else None)
        self.image_error.setText(error)
        self.image_error.setVisible(bool(error))


def quality_text(quality: float) -> str:
    """Label quality with three decimals; tiny scores do not read as zero."""
    if np.isnan(quality):
        return "—"
    return "<0.001" if quality < 0.001 else f"{quality:.3f}"


def review_progress(session: ReviewSession, row: int) -> list[str]:
    """Why the image waits for the lead ("needs the lead — tie"), or how far voting got
    ("needs votes: 1 of 3"); nothing for other states."""
    data = session.data
    review = data.review if data is not None else None
    if data is None or review is None or len(review.image_ids) == 0:
        return []
    hidden = session.split is not None and not session.split.visible[row]
    pos, found = review.data.image_index(data.image_ids[row : row + 1])
    if not found[0]:
        return []
    state, at = str(review.state[pos[0]]), int(pos[0])
    if state == "needs_lead" and not hidden:  # blind review: the reason tells of the votes
        reason = str(review.lead_reason[at])
        return [f"needs the lead — {reason}" if reason else "needs the lead"]
    if state == "needs_votes":
        required = int(session.settings.get("votes_required", 2))  # type: ignore[call-overload]
        return [f"needs votes: {int(review.result.n_votes[at])} of {required}"]
    return []


def proposal_lines(session: ReviewSession, row: int) -> list[str]:
    """The vote split ("split 2–1", blind-checked in the core) and, for a lead on an image
    waiting for the lead, what Accept (A) would decide and how sure the evidence is."""
    data, split = session.data, session.split
    if data is None or split is None or row >= split.visible.shape[0]:
        return []
    text = split.text(row)
    lines = [f"split {text}"] if text else []
    if not session.is_lead or data.state[row] != STATE_CODE["needs_lead"]:
        return lines
    picks = accept_list(data, [row])
    if not picks:
        return [*lines, "A: nothing to accept (no consensus, no model's pick)"]
    _, decision, origin = picks[0]
    sure = float(accept_confidence(data)[row])
    shown = "<1%" if sure < 0.005 else percent(sure)  # never "0%": an estimate, not a verdict
    likely = "" if np.isnan(sure) else f", {shown} likely right"
    return [*lines, f"A accepts: {decision} ({origin}{likely})"]


def _vote_name(class_names: list[str], vote: int) -> str:
    if vote >= 0:
        return class_names[vote]
    return "drop" if vote == DROP_VOTE else "unsure"


def _vote_entry(who: str, what: str, quality: float | None) -> str:
    """ "bob owl (quality 0.83)": the annotator's quality score is shown to leads only."""
    return f"{who} {what}" + (f" (quality {quality:.2f})" if quality is not None else "")

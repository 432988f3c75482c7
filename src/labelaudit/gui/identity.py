"""Who is working, unmistakably: the window title, a coloured bar (purple in lead mode, where
every key on an image waiting for the lead is a final decision), and when to ask.

The app asks who is working (rather than reuse the name remembered on this machine) when that
name is a lead's, or when the last project opened here was another one: the person at the
keyboard may have changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from labelaudit.core.consensus.annotators import Annotator, get_annotator, get_or_register
from labelaudit.core.errors import LabelauditError
from labelaudit.core.views import SHOWN, needs_me
from labelaudit.gui.dialogs.annotator_dialog import AnnotatorDialog
from labelaudit.gui.session import INFO, WARNING
from labelaudit.gui.widgets.progress_panel import review_progress

if TYPE_CHECKING:
    from labelaudit.gui.main_window import MainWindow

APP_NAME = "labelaudit"
LEAD_COLOR, LEAD_TEXT = "#6c2d91", "#ffffff"
ANNOTATOR_COLOR, ANNOTATOR_TEXT = "#e3eefa", "#17324d"
NOBODY_COLOR, NOBODY_TEXT = "#fff4d6", "#5c4300"


def window_title(project: str | None, who: Annotator | None) -> str:
    """ "proj — lena (LEAD) — labelaudit"; the name and role come first after the project."""
    if project is None:
        return APP_NAME
    if who is None:
        return f"{project} — nobody chosen — {APP_NAME}"
    role = "LEAD" if who.is_lead else who.role
    return f"{project} — {who.name} ({role}) — {APP_NAME}"


def identity_text(who: Annotator | None) -> str:
    if who is None:
        return "Nobody chosen: pick who is working before voting"
    if who.is_lead:
        return (
            f"<b>LEAD MODE — {who.name}</b>: your keys on images that wait for the lead are "
            "final decisions"
        )
    return f"Working as <b>{who.name}</b> (annotator): your keys are votes"


class IdentityBar(QFrame):
    """One line under the menus: who is working, in the role's colour, and a switch button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 4, 2)
        self.label = QLabel()
        self.label.setMinimumWidth(1)
        self.switch_button = QToolButton()
        self.switch_button.setText("Switch…")
        self.switch_button.setAutoRaise(True)
        self.switch_button.setToolTip("choose who is working (File ▸ Who is working…)")
        layout.addWidget(self.label, 1)
        layout.addWidget(self.switch_button)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAccessibleName("who is working")
        self.role = ""
        self.hide()

    def set_who(self, who: Annotator | None, *, project_open: bool) -> None:
        self.setVisible(project_open)
        self.role = "" if who is None else ("lead" if who.is_lead else "annotator")
        background, color = (
            (NOBODY_COLOR, NOBODY_TEXT)
            if who is None
            else (LEAD_COLOR, LEAD_TEXT)
            if who.is_lead
            else (ANNOTATOR_COLOR, ANNOTATOR_TEXT)
        )
        self.setStyleSheet(
            f"IdentityBar {{ background: {background}; }} QLabel, QToolButton {{ color: {color}; }}"
        )
        self.label.setText(identity_text(who))
        self.label.setToolTip(self.label.text())


def choose_annotator(window: MainWindow, *, ask: bool = False) -> None:
    """--annotator / LABELAUDIT_ANNOTATOR, else the name remembered here unless it is a lead's
    or another project was open last, else ask (when the window may show dialogs)."""
    project = window.session.project
    if project is None:
        return
    prefs = window.prefs
    remembered = prefs.annotator_for(project.project_id)
    explicit = None if ask else window.requested_annotator
    name = explicit or (None if ask else remembered)
    if name:
        try:  # a name given with --annotator is a person naming themselves: register it (README)
            person, new = (
                get_or_register(project.store, name)
                if explicit
                else (get_annotator(project.store, name), False)
            )
        except LabelauditError as exc:
            window.session.message.emit(WARNING, str(exc))
        else:
            changed = prefs.last_project() != project.project_id
            if explicit or not window.interactive or not (person.is_lead or changed):
                set_annotator(window, person)
                if new:
                    window.session.message.emit(
                        INFO, f"registered {person.name} as a new annotator of this project"
                    )
                return
    if window.interactive:
        dialog = AnnotatorDialog(project.store, preselect=remembered, parent=window)
        if dialog.exec() and dialog.chosen is not None:
            set_annotator(window, dialog.chosen)


def set_annotator(window: MainWindow, annotator: Annotator) -> None:
    project = window.session.project
    assert project is not None
    window.session.set_annotator(annotator)
    window.prefs.set_annotator_for(project.project_id, annotator.name)
    window.prefs.set_last_project(project.project_id)
    update_identity(window)


def update_identity(window: MainWindow) -> None:
    """Title, identity bar, status line and progress: who is working and how far."""
    session = window.session
    project, who = session.project, session.annotator
    window.setWindowTitle(window_title(project.folder.name if project else None, who))
    window.identity_bar.set_who(who, project_open=project is not None)
    role = f"{who.name} ({who.role})" if who else "nobody chosen (File ▸ Who is working…)"
    window.vote_bar.set_who(f"Working: {role}")
    data = session.data
    if data is None or project is None:
        window.progress.set_progress(None, is_lead=False, chosen=False)
        return
    flagged = int(data.flagged.sum())
    scan = f"scan #{data.scan_id}" if data.scan_id else "no scan yet"
    window.status_label.setText(
        f"{queue_text(window)}{data.n:,} images · {flagged:,} flagged · {scan}"
    )
    window.progress.set_progress(
        review_progress(data, session.shown), is_lead=session.is_lead, chosen=who is not None
    )


def queue_text(window: MainWindow) -> str:
    """ "my queue: 12 left · lead: 3 waiting · " for the person working, else ""."""
    session = window.session
    shown = session.shown
    if session.annotator is None:
        return ""
    text = f"my queue: {int(needs_me(shown, is_lead=False).sum()):,} left · "
    if session.is_lead:
        text += f"lead: {int((shown == SHOWN['needs lead']).sum()):,} waiting · "
    return text

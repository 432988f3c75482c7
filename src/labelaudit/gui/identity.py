"""Who is working, and when to ask: the window title, the identity bar (``identity_bar.py``),
the status line and the progress follow the choice.

The app asks who is working (rather than reuse the name remembered on this machine) when that
name is a lead's, or when the last project opened here was another one: the person at the
keyboard may have changed.
"""

from __future__ import annotations

from labelaudit.core.consensus.annotators import Annotator, get_annotator, get_or_register
from labelaudit.core.errors import LabelauditError
from labelaudit.core.views import SHOWN, needs_me
from labelaudit.gui.dialogs.annotator_dialog import AnnotatorDialog
from labelaudit.gui.identity_bar import window_title
from labelaudit.gui.session import INFO, WARNING
from labelaudit.gui.widgets.progress_panel import review_progress
from labelaudit.gui.window_parts import WindowParts


def choose_annotator(window: WindowParts, *, ask: bool = False) -> None:
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
        dialog = AnnotatorDialog(project.store, preselect=remembered, parent=window.window())
        if dialog.exec() and dialog.chosen is not None:
            set_annotator(window, dialog.chosen)


def set_annotator(window: WindowParts, annotator: Annotator) -> None:
    project = window.session.project
    assert project is not None
    window.session.set_annotator(annotator)
    window.prefs.set_annotator_for(project.project_id, annotator.name)
    window.prefs.set_last_project(project.project_id)
    update_identity(window)


def update_identity(window: WindowParts) -> None:
    """Title, identity bar, status line and progress: who is working and how far."""
    session = window.session
    project, who = session.project, session.annotator
    window.window().setWindowTitle(window_title(project.folder.name if project else None, who))
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


def queue_text(window: WindowParts) -> str:
    """ "my queue: 12 left · lead: 3 waiting · " for the person working, else ""."""
    session = window.session
    shown = session.shown
    if session.annotator is None:
        return ""
    text = f"my queue: {int(needs_me(shown, is_lead=False).sum()):,} left · "
    if session.is_lead:
        text += f"lead: {int((shown == SHOWN['needs lead']).sum()):,} waiting · "
    return text

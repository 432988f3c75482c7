"""How the main window follows the session: a project opened or closed, new data (counts, tiles,
who may see what), a new view, a new current image; and which actions the person working gets.

The session's signals are connected to these in ``main_window.py``.
"""

from __future__ import annotations

from labelaudit.core.views import NO_VOTE, SHOWN, Filters, noise_matrix
from labelaudit.gui import identity
from labelaudit.gui.window_parts import WindowParts
from labelaudit.gui.workers.thumbs import ThumbSource


def on_project_changed(window: WindowParts) -> None:
    project = window.session.project
    source = ThumbSource(project.store, project.image_root, project.thumb_dir) if project else None
    window.loader.set_source(source)
    if project is None:
        window.grid.grid_model.clear()
        window.poll_timer.stop()
    else:
        window.poll_timer.start()
    window.filter_bar.set_filters(Filters())
    set_review_enabled(window, project is not None)
    window.pages.setCurrentIndex(0 if project is None else 1)
    identity.update_identity(window)


def on_data_changed(window: WindowParts) -> None:
    data, stats = window.session.data, window.session.stats
    if data is None or stats is None:
        return
    # Counts change in place: the filter controls, the sidebar's selection and scroll stay.
    window.filter_bar.set_classes(data.class_names)
    window.sidebar.class_model.set_stats(data.class_names, stats)
    window.sidebar.fit_width()
    window.vote_bar.set_classes(data.class_names)
    window.grid.grid_model.shown = window.session.shown
    window.grid.grid_model.split = window.session.split
    window.grid.grid_model.viewer_id = (
        window.session.annotator.id if window.session.annotator else None
    )
    window.grid.grid_model.stats = stats
    hidden = not window.session.settings.get("show_suggestion", True)
    window.grid.grid_model.hide_suggestions = hidden
    # The noise matrix and the suggested-class filter reveal the model's suggestions image by
    # image: an annotator working with suggestions hidden does not get them.
    reveal = not hidden or window.session.is_lead
    window.tabs.setTabEnabled(window.tabs.indexOf(window.noise_panel), reveal)
    window.filter_bar.suggested.setEnabled(reveal)
    show_lead_actions(window)
    update_marks(window)
    window.grid.viewport().update()
    update_matrix(window)
    identity.update_identity(window)


def on_view_changed(window: WindowParts) -> None:
    relayout(window)
    data, view = window.session.data, window.session.view
    if data is not None and view is not None:
        window.filter_bar.show_count(len(view), data.n)


def relayout(window: WindowParts) -> None:
    s = window.session
    if s.data is None or s.view is None or s.stats is None:
        return
    columns = window.grid.columns_for_width()
    window.grid.grid_model.set_content(s.data, s.view, s.shown, s.stats, columns=columns)
    index = s.view_index_of(s.current_row)
    if index >= 0:
        window.grid.show_row(s.current_row, index)


def on_current_changed(window: WindowParts, row: int) -> None:
    index = window.session.view_index_of(row)
    if index >= 0:
        window.grid.show_row(row, index)
    update_marks(window)


def update_marks(window: WindowParts) -> None:
    """The vote bar marks the current image's given and suggested class and my vote."""
    s, row = window.session, window.session.current_row
    if s.data is None or not 0 <= row < s.data.n:
        window.vote_bar.set_marks([], given=-1, suggested=-1, mine=NO_VOTE, lead_final=False)
        allow_unsure(window, True)
        return
    data = s.data
    waits = row < s.shown.shape[0] and s.shown[row] == SHOWN["needs lead"]
    window.vote_bar.set_marks(
        data.class_names,
        given=int(data.labels[row]),
        suggested=int(data.suggested[row]) if s.suggestion_visible(row) else -1,
        mine=int(data.my_vote[row]),
        lead_final=bool(waits and s.is_lead),
    )
    allow_unsure(window, not (waits and s.is_lead))


def allow_unsure(window: WindowParts, allowed: bool) -> None:
    """A lead's final decision is keep, a class or drop: Unsure is off while it would be
    one (it stays for the lead's own votes on images that still need votes)."""
    unsure = window.actions_.unsure
    unsure.setEnabled(allowed and window.session.project is not None)
    unsure.setToolTip(
        "abstain (U)" if allowed else "a lead's final decision is keep, a class or drop"
    )


def show_lead_actions(window: WindowParts) -> None:
    """Lead-only actions are hidden from annotators, not shown disabled."""
    lead = window.session.is_lead
    window.actions_.add_review.setEnabled(lead and window.session.project is not None)
    window.actions_.add_review.setVisible(lead)
    window.actions_.accept.setEnabled(lead and window.session.project is not None)
    window.actions_.accept.setVisible(lead)
    window.vote_bar.add_button.setVisible(lead)
    window.vote_bar.accept_button.setVisible(lead)
    window.r_for_annotators.setEnabled(not lead and window.session.project is not None)


def update_matrix(window: WindowParts) -> None:
    data = window.session.data
    if data is None:
        return
    counts = noise_matrix(data, flagged_only=window.noise_panel.flagged_only.isChecked())
    window.noise_panel.matrix.set_matrix(counts, data.class_names)


def set_review_enabled(window: WindowParts, enabled: bool) -> None:
    actions = (*window.actions_.decisions, window.actions_.scan, window.actions_.who)
    for action in (*actions, window.actions_.export_report):
        action.setEnabled(enabled)
    show_lead_actions(window)
    window.actions_.close_project.setEnabled(enabled)
    if enabled and window.session.data is not None:
        window.vote_bar.set_classes(window.session.data.class_names)

"""Voting from the keyboard, end to end: key presses -> votes in the store -> the next image."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

pytest.importorskip("PySide6")

from PySide6.QtCore import QItemSelectionModel, Qt
from scans import vote_tie

from labelaudit.core.store.schema import annotators, votes
from labelaudit.core.views import SHOWN, Filters


def current_votes(project) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    """(annotator, kind, class id) of each vote row, in order, retractions included."""
    with project.store.read() as conn:
        rows = conn.execute(
            sa.select(annotators.c.name, votes.c.kind, votes.c.class_id)
            .join(annotators, annotators.c.id == votes.c.annotator_id)
            .order_by(votes.c.seq)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def path_of_current(window) -> str:  # type: ignore[no-untyped-def]
    return window.session.data.path(window.session.current_row)


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(window.grid, key, modifier)


def test_keys_vote_and_move_to_the_next_image_needing_me(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    window.filter_bar.flagged.setChecked(True)
    assert window.session.filters == Filters(flagged_only=True)
    window.grid.setFocus()
    assert path_of_current(window) == "cat/0001.png"
    press(qtbot, window, Qt.Key.Key_K)  # keep: stored as the given class
    assert current_votes(project) == [("ann", "label", 1)]
    assert path_of_current(window) == "cat/0004.png"  # the next one that needs me came up
    press(qtbot, window, Qt.Key.Key_2)  # relabel to class 2 (dog)
    assert current_votes(project)[-1] == ("ann", "label", 2)
    assert path_of_current(window) == "dog/0002.png"
    press(qtbot, window, Qt.Key.Key_D)
    assert current_votes(project)[-1][:2] == ("ann", "drop")
    data, shown = window.session.data, window.session.shown
    voted = np.flatnonzero(data.my_vote != -1)
    assert sorted(data.path(int(r)) for r in voted) == sorted(
        ["cat/0001.png", "cat/0004.png", "dog/0002.png"]
    )
    assert (shown[voted] == SHOWN["voted"]).all()  # 1 of 2 votes each
    assert "nothing else needs your vote" in window.message_bar.text


def test_undo_and_redo(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    window.filter_bar.flagged.setChecked(True)
    first = window.session.current_row
    press(qtbot, window, Qt.Key.Key_U)
    assert current_votes(project) == [("ann", "unsure", None)]
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [v[1] for v in current_votes(project)] == ["unsure", "retract"]
    assert window.session.current_row == first  # undo shows the image again
    assert window.session.data.my_vote[first] == -1
    press(
        qtbot,
        window,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert [v[1] for v in current_votes(project)] == ["unsure", "retract", "unsure"]
    assert window.session.data.my_vote[first] == -3


def test_next_previous_and_selection_vote(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    session = window.session
    assert path_of_current(window) == "cat/0001.png"
    press(qtbot, window, Qt.Key.Key_N)
    assert path_of_current(window) == "cat/0004.png"
    press(qtbot, window, Qt.Key.Key_Space)
    assert path_of_current(window) == "cat/0000.png"
    press(qtbot, window, Qt.Key.Key_Backspace)
    assert path_of_current(window) == "cat/0004.png"
    # Select three owl tiles and relabel them all at once.
    grid, model = window.grid, window.grid.grid_model
    owl = session.view.class_offsets[2]
    selection = grid.selectionModel()
    selection.clear()
    for v in range(owl, owl + 3):
        index = model.index_of_slot(model.slot_of_view_index(int(v)))
        selection.select(index, QItemSelectionModel.SelectionFlag.Select)
    assert len(grid.selected_rows()) == 3
    press(qtbot, window, Qt.Key.Key_1)
    assert current_votes(project) == [("ann", "label", 1)] * 3
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [v[1] for v in current_votes(project)].count("retract") == 3


def test_typing_in_search_does_not_vote(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    window.filter_bar.search.setFocus()
    qtbot.keyClicks(window.filter_bar.search, "kdu1")
    assert window.filter_bar.search.text() == "kdu1"
    assert current_votes(project) == []


def test_other_peoples_votes_appear_without_restart(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="lea")  # a lead sees every vote
    session = window.session
    row = session.current_row
    assert session.shown[row] == SHOWN["needs my vote"]
    image_id = int(session.data.image_ids[row])
    vote_tie(project.store, image_id)
    qtbot.waitUntil(lambda: session.shown[row] == SHOWN["needs lead"], timeout=5000)
    press(qtbot, window, Qt.Key.Key_3)  # the lead resolves: owl
    assert session.shown[row] == SHOWN["resolved"]
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert session.shown[row] == SHOWN["needs lead"]


def test_without_annotator_keys_ask_who_is_working(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator=None)
    press(qtbot, window, Qt.Key.Key_K)
    assert current_votes(project) == []
    assert "who is working" in window.message_bar.text


def test_a_scan_finished_elsewhere_appears_without_restart(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    from scans import store_scan

    window = make_window(project.folder)
    first = window.session.data.scan_id
    newer = store_scan(project, suggested={"owl/0000.png": "cat"})
    qtbot.waitUntil(lambda: window.session.data.scan_id == newer, timeout=5000)
    assert newer != first
    assert window.grid.grid_model.data_ref is window.session.data
    flagged = window.session.data.flagged
    assert [window.session.data.path(int(r)) for r in flagged.nonzero()[0]] == ["owl/0000.png"]

"""Review flow details: digit keys on digit-named classes, the next image under the "needs my
vote" filter, vote notes, a lead's bulk decisions, annotator quality, "add to review", and
poll ticks that leave the sidebar and the filter bar alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

pytest.importorskip("PySide6")

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from scans import vote_tie

from helpers import make_tree
from labelaudit.core.consensus.annotators import add_annotator
from labelaudit.core.consensus.votes import cast_vote
from labelaudit.core.project import Project
from labelaudit.core.store.schema import annotators, classes, decisions, review_requests, votes
from labelaudit.core.views import SHOWN, Filters
from labelaudit.gui import review_controls
from labelaudit.gui.actions import key_classes


def stored_votes(project) -> list[tuple[str, str, str | None, str | None]]:  # type: ignore[no-untyped-def]
    """(annotator, kind, class name, note) of each vote row in order, retractions included."""
    with project.store.read() as conn:
        rows = conn.execute(
            sa.select(annotators.c.name, votes.c.kind, classes.c.name, votes.c.note)
            .join(annotators, annotators.c.id == votes.c.annotator_id)
            .outerjoin(classes, classes.c.id == votes.c.class_id)
            .order_by(votes.c.seq)
        ).all()
    return [tuple(r) for r in rows]


def stored_decisions(project) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    with project.store.read() as conn:
        rows = conn.execute(
            sa.select(decisions.c.kind, decisions.c.note).order_by(decisions.c.created_at)
        ).all()
    return [tuple(r) for r in rows]


def row_of(window, path: str) -> int:  # type: ignore[no-untyped-def]
    data = window.session.data
    return next(i for i in range(data.n) if data.path(i) == path)


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(window.grid, key, modifier)


def select_rows(window, rows: list[int]) -> None:  # type: ignore[no-untyped-def]
    model, selection = window.grid.grid_model, window.grid.selectionModel()
    selection.clear()
    for row in rows:
        slot = model.slot_of_view_index(window.session.view_index_of(row))
        selection.select(model.index_of_slot(slot), QItemSelectionModel.SelectionFlag.Select)


def reactivate(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)


def answer_next_dialog(button: QMessageBox.StandardButton) -> None:
    """Click ``button`` of the next modal message box once it is open."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            box.button(button).click()
        else:
            QTimer.singleShot(20, click)

    QTimer.singleShot(0, click)


def test_key_classes_follow_digit_names() -> None:
    digits = [str(d) for d in range(10)]
    assert key_classes(digits) == {d: d for d in range(10)}
    assert key_classes(["3", "7"]) == {3: 0, 7: 1}
    assert key_classes(["cat", "dog"]) == {1: 0, 2: 1}
    assert key_classes(["0", "cat"]) == {1: 0, 2: 1}  # not all digits: the first nine in order
    ten = {**{i + 1: i for i in range(9)}, 0: 9}  # 0 is the tenth class (number-row order)
    assert key_classes([f"c{i:02d}" for i in range(10)]) == ten
    assert key_classes([f"c{i:02d}" for i in range(12)]) == ten  # beyond ten: the picker


@pytest.fixture
def digits_project(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = make_tree(tmp_path / "digits", {"0": 2, "1": 2, "2": 2})
    proj = Project.create(tmp_path / "dproj", root)
    proj.import_images()
    add_annotator(proj.store, "ann")
    yield proj
    proj.close()


def test_digit_keys_relabel_to_the_class_of_that_name(qtbot, digits_project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(digits_project.folder)
    buttons = window.vote_bar.class_buttons
    assert [b.isVisibleTo(window) for b in buttons] == [True, True, True] + [False] * 7
    assert [buttons[d].text() for d in range(3)] == ["0", "1", "2"]  # not "0: 0"
    window.grid.setFocus()
    press(qtbot, window, Qt.Key.Key_2)
    assert stored_votes(digits_project)[-1][2] == "2"
    press(qtbot, window, Qt.Key.Key_0)  # 0 has a key too
    assert stored_votes(digits_project)[-1][2] == "0"
    press(qtbot, window, Qt.Key.Key_9)  # no class "9": nothing happens
    assert len(stored_votes(digits_project)) == 2


def test_voting_under_the_needs_my_vote_filter_skips_nothing(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    bar = window.filter_bar
    bar.state.setCurrentIndex(bar.state.findData("needs my vote"))
    session = window.session
    assert session.data.path(session.current_row) == "cat/0001.png"
    press(qtbot, window, Qt.Key.Key_K)  # the voted image leaves the view
    assert session.data.path(session.current_row) == "cat/0004.png"
    press(qtbot, window, Qt.Key.Key_K)
    assert session.data.path(session.current_row) == "dog/0002.png"
    press(qtbot, window, Qt.Key.Key_K)
    assert [v[2] for v in stored_votes(project)] == ["cat", "cat", "dog"]


def test_a_note_goes_with_the_next_vote_and_typing_it_votes_nothing(  # type: ignore[no-untyped-def]
    qtbot, project, make_window
) -> None:
    window = make_window(project.folder)
    window.grid.setFocus()
    press(qtbot, window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    note = window.vote_bar.note
    assert note.hasFocus()
    qtbot.keyClicks(note, "kdu 1 fox ear")  # vote keys inside the text
    assert stored_votes(project) == []
    qtbot.keyClick(note, Qt.Key.Key_Return)  # back to the keys
    assert window.grid.hasFocus() and note.text() == "kdu 1 fox ear"
    press(qtbot, window, Qt.Key.Key_K)
    assert stored_votes(project) == [("ann", "label", "cat", "kdu 1 fox ear")]
    assert note.text() == ""  # one note, one decision
    press(qtbot, window, Qt.Key.Key_D)
    assert stored_votes(project)[-1] == ("ann", "drop", None, None)


def _send_to_lead(project, window, paths: list[str]) -> None:  # type: ignore[no-untyped-def]
    for path in paths:
        image_id = int(window.session.data.image_ids[row_of(window, path)])
        vote_tie(project.store, image_id)  # a tie: the lead decides
    assert window.session.poll_changes()


def test_a_leads_bulk_decision_resolves_what_waits_for_the_lead(  # type: ignore[no-untyped-def]
    qtbot, project, make_window, monkeypatch
) -> None:
    window = make_window(project.folder, annotator="lea")
    # ties the scan's model does not break (it says dog at most 0.91 here; cat/0004 it says
    # owl so surely that the evidence would settle that tie)
    _send_to_lead(project, window, ["cat/0001.png", "cat/0002.png"])
    rows = [row_of(window, p) for p in ("cat/0001.png", "cat/0002.png", "dog/0002.png")]
    shown = window.session.shown
    assert [shown[r] for r in rows] == [SHOWN["needs lead"]] * 2 + [SHOWN["needs my vote"]]
    monkeypatch.setattr(review_controls, "BULK_CONFIRM_OVER", 2)  # 3 images ask first
    select_rows(window, rows)
    answer_next_dialog(QMessageBox.StandardButton.Cancel)
    press(qtbot, window, Qt.Key.Key_K)
    assert stored_decisions(project) == [] and len(stored_votes(project)) == 4
    reactivate(qtbot, window)  # the offscreen platform leaves no window active after a dialog
    window.vote_bar.note.setText("both cats")
    answer_next_dialog(QMessageBox.StandardButton.Yes)
    press(qtbot, window, Qt.Key.Key_K)
    assert stored_decisions(project) == [("label", "both cats")] * 2
    reactivate(qtbot, window)
    assert stored_votes(project)[-1] == ("lea", "label", "dog", "both cats")  # a vote
    shown = window.session.shown
    assert [shown[r] for r in rows[:2]] == [SHOWN["resolved"]] * 2
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo step
    assert [d[0] for d in stored_decisions(project)].count("withdraw") == 2
    assert stored_votes(project)[-1][1] == "retract"
    shown = window.session.shown
    assert [shown[r] for r in rows] == [SHOWN["needs lead"]] * 2 + [SHOWN["needs my vote"]]


def test_leads_see_annotator_quality_and_add_images_to_review(  # type: ignore[no-untyped-def]
    qtbot, project, make_window
) -> None:
    lead = make_window(project.folder, annotator="lea")
    _send_to_lead(project, lead, ["cat/0001.png"])
    lead.session.set_current(row_of(lead, "cat/0001.png"))
    qtbot.waitUntil(lambda: not lead.detail.busy, timeout=5000)
    # The default method (CROWDLAB, the scan's model says dog): ann is rated above bob.
    text = lead.detail.vote_state.text()
    found = dict(re.findall(r"(ann|bob) (?:dog|owl) \(quality ([0-9.]+)\)", text))
    assert float(found["ann"]) > float(found["bob"]), text
    unflagged = row_of(lead, "owl/0003.png")
    assert lead.session.shown[unflagged] == SHOWN[""]
    lead.session.set_current(unflagged)
    assert lead.actions_.add_review.isEnabled()
    press(qtbot, lead, Qt.Key.Key_R)
    assert lead.session.shown[unflagged] == SHOWN["needs my vote"]
    with project.store.read() as conn:
        reasons = conn.execute(sa.select(review_requests.c.reason)).scalars().all()
    assert reasons.count("lead") == 1
    lead.close()
    annotator = make_window(project.folder, annotator="bob")  # voted on cat/0001 already
    annotator.session.set_current(row_of(annotator, "cat/0001.png"))
    qtbot.waitUntil(lambda: not annotator.detail.busy, timeout=5000)
    text = annotator.detail.vote_state.text()
    assert "ann dog" in text and "quality" not in text  # quality scores are for leads
    assert not annotator.actions_.add_review.isEnabled()
    assert not annotator.session.add_to_review([row_of(annotator, "owl/0002.png")])


def test_poll_ticks_keep_the_sidebar_and_the_filter_bar(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    sidebar, model = window.sidebar, window.sidebar.class_model
    sidebar.selectRow(1)
    resets: list[bool] = []
    changes: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    model.dataChanged.connect(lambda *_: changes.append(True))
    window.filter_bar.flagged.setChecked(True)
    window.filter_bar.search.setText("cat")  # typed, not yet applied (search waits 150 ms)
    # two votes the scan's model agrees with: settled, so the counts change
    image_id = int(window.session.data.image_ids[row_of(window, "cat/0000.png")])
    for who in ("bob", "lea"):
        cast_vote(
            project.store, annotator=who, image_id=image_id, decision="cat", suggestion_shown=True
        )
    assert window.session.poll_changes()
    assert resets == [] and changes  # counts updated in place
    assert sidebar.currentIndex().row() == 1 and sidebar.selectionModel().isRowSelected(1)
    assert model.data(model.index(0, 3)) == "1"
    assert window.filter_bar.search.text() == "cat" and window.filter_bar.flagged.isChecked()
    qtbot.waitUntil(lambda: window.session.filters == Filters(flagged_only=True, search="cat"))

"""The lead's queue in the app: vote splits drawn under the tiles (never over the image, never to
an annotator who has not voted), names on hover, the detail pane's votes and proposal, and the
Accept key (A) for one image or a selection as one undo step."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QRect, Qt
from scans import vote_tie
from test_review_flow import press, row_of, select_rows, stored_decisions
from test_visual_grid import (  # noqa: F401  (visual_project is a fixture)
    BADGE_BAND,
    as_array,
    resize,
    settle,
    visual_project,
)

from labelaudit.core.consensus.annotators import add_annotator
from labelaudit.core.views import SHOWN
from labelaudit.gui.style import SPLIT_COLOR
from labelaudit.gui.views.tile_delegate import CAPTION, PAD

TIES = ("cat/0001.png", "cat/0002.png", "dog/0002.png")  # ann dog, bob owl: the lead decides


def _tie(project, window) -> None:  # type: ignore[no-untyped-def]
    for path in TIES:
        vote_tie(project.store, int(window.session.data.image_ids[row_of(window, path)]))
    assert window.session.poll_changes()


def _tile_pixels(window, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """(drawn image area below the top badges, the thumbnail's same rows, the caption strip)."""
    grid, model = window.grid, window.grid.grid_model
    index = model.index_of_slot(model.slot_of_view_index(window.session.view_index_of(row)))
    cell = grid.visualRect(index)
    shot = as_array(grid.viewport().grab().toImage())
    thumb = as_array(grid.loader.pixmap(int(window.session.data.image_ids[row])).toImage())
    h, w = thumb.shape[:2]
    image = QRect(cell.x() + PAD, cell.y() + PAD, grid.tile_size, grid.tile_size)
    x, y = image.x() + (image.width() - w) // 2, image.y() + (image.height() - h) // 2
    drawn = shot[y + BADGE_BAND : y + h, x : x + w]
    caption = shot[
        cell.bottom() - CAPTION - PAD + 2 : cell.bottom() - PAD + 2, image.x() : image.right()
    ]
    return drawn, thumb[BADGE_BAND:], caption


def _has_split_pill(caption: np.ndarray) -> bool:
    want = np.array(SPLIT_COLOR.getRgb()[:3], dtype=np.int16)
    return int((np.abs(caption.astype(np.int16) - want).max(axis=2) <= 12).sum()) > 40


def test_split_is_drawn_below_the_image_for_the_lead_and_hidden_from_a_blind_annotator(
    qtbot,
    visual_project,  # noqa: F811  (the fixture imported above)
    make_window,
) -> None:  # type: ignore[no-untyped-def]
    add_annotator(visual_project.store, "cyd")  # has not voted: blind review hides the split
    lead = make_window(visual_project.folder, annotator="lea")
    _tie(visual_project, lead)
    resize(qtbot, lead, 1000, 700)
    row = row_of(lead, "cat/0001.png")
    assert lead.session.split.text(row) == "1–1"
    assert "votes 1–1: ann dog, bob owl" in lead.grid.grid_model.tooltip(row)
    settle(qtbot, lead)
    drawn, thumb, caption = _tile_pixels(lead, row)
    diff = float(np.abs(drawn.astype(np.int16) - thumb.astype(np.int16)).mean())
    assert diff < 4, f"something is drawn over the image (mean diff {diff:.1f})"
    assert _has_split_pill(caption), "no vote split under the tile"
    plain = row_of(lead, "cat/0003.png")  # nobody voted: no pill
    assert not _has_split_pill(_tile_pixels(lead, plain)[2])
    lead.close()
    cyd = make_window(visual_project.folder, annotator="cyd")
    resize(qtbot, cyd, 1000, 700)
    row = row_of(cyd, "cat/0001.png")
    assert cyd.session.shown[row] == SHOWN["needs my vote"] and cyd.session.split.text(row) == ""
    assert "votes" not in cyd.grid.grid_model.tooltip(row)
    assert not _has_split_pill(_tile_pixels(cyd, row)[2])
    cyd.session.set_current(row)
    qtbot.waitUntil(lambda: not cyd.detail.busy)
    text = cyd.detail.vote_state.text()
    assert "split" not in text and "ann" not in text and "bob" not in text


def test_a_accepts_the_proposal_for_one_image_or_a_selection_as_one_undo_step(
    qtbot, project, make_window
) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="lea")
    _tie(project, window)
    first = row_of(window, "cat/0001.png")  # the model says dog
    window.session.set_current(first)
    qtbot.waitUntil(lambda: not window.detail.busy)
    detail = window.detail.vote_state.text()
    assert "split 1–1" in detail and "A accepts: dog (" in detail and "ann dog" in detail
    assert window.actions_.accept.isEnabled() and window.actions_.accept.isVisible()
    press(qtbot, window, Qt.Key.Key_A)
    [(kind, note)] = stored_decisions(project)
    assert kind == "label" and note.endswith("'s pick")  # the method's (a tie) or the model's
    assert window.session.shown[first] == SHOWN["resolved"]
    assert window.session.current_row != first  # on to the next image waiting for me
    rest = [row_of(window, p) for p in TIES[1:]]
    select_rows(window, [*rest, row_of(window, "owl/0000.png")])  # owl/0000: nothing to accept
    press(qtbot, window, Qt.Key.Key_A)
    assert len(stored_decisions(project)) == 3
    assert [window.session.shown[r] for r in rest] == [SHOWN["resolved"]] * 2
    assert "skipped" in window.message_bar.text
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo step
    assert [d[0] for d in stored_decisions(project)].count("withdraw") == 2
    assert [window.session.shown[r] for r in rest] == [SHOWN["needs lead"]] * 2
    assert window.session.shown[first] == SHOWN["resolved"]


def test_an_annotator_has_no_accept(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="ann")
    assert not window.actions_.accept.isVisible() and not window.actions_.accept.isEnabled()
    assert not window.controls.accept()
    assert stored_decisions(project) == []

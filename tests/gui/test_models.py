"""Every item model passes Qt's model tester, with real content."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from labelaudit.core.views import (
    Filters,
    build_view,
    class_stats,
    filter_mask,
    load_review_data,
    shown_states,
)
from labelaudit.gui.models.class_model import ClassModel
from labelaudit.gui.models.grid_model import TILE_ROLE, GridModel


def test_grid_model(qtmodeltester, project) -> None:  # type: ignore[no-untyped-def]
    data = load_review_data(project.store)
    view = build_view(data, filter_mask(data, Filters()))
    model = GridModel()
    qtmodeltester.check(model)  # empty
    model.set_content(
        data, view, shown_states(data, blind=True, is_lead=False), class_stats(data), columns=4
    )
    qtmodeltester.check(model)
    assert (model.rowCount(), model.columnCount(), model.slot_count) == (8, 4, 32)
    assert model.data(model.index(0, 0)) == "cat"
    tile = model.data(model.index(1, 0), TILE_ROLE)
    assert data.path(tile.row) == "cat/0001.png"  # flagged first, below the header row
    assert not model.flags(model.index(0, 1))  # a header is not selectable


def test_class_model(qtmodeltester, project) -> None:  # type: ignore[no-untyped-def]
    data = load_review_data(project.store)
    model = ClassModel()
    qtmodeltester.check(model)
    model.set_stats(data.class_names, class_stats(data))
    qtmodeltester.check(model)
    cells = [[model.data(model.index(r, c)) for c in range(4)] for r in range(model.rowCount())]
    assert cells == [["cat", "6", "2", "0"], ["dog", "5", "1", "0"], ["owl", "4", "0", "0"]]

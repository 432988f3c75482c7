"""The grid: filters through the filter bar, the noise matrix, the sidebar, tiles and thumbnails."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, Qt

from labelaudit.core.views import SLOT_IMAGE, noise_matrix


def grid_paths(window) -> list[str]:  # type: ignore[no-untyped-def]
    """The image paths the grid shows, in its order (from the model, as the delegate reads it)."""
    model = window.grid.grid_model
    tiles = (model.tile(s) for s in range(model.slot_count))
    return [model.data_ref.path(t.row) for t in tiles if t.kind == SLOT_IMAGE]


def test_each_filter_from_the_filter_bar(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    bar = window.filter_bar
    assert len(grid_paths(window)) == 15
    bar.flagged.setChecked(True)
    assert grid_paths(window) == ["cat/0001.png", "cat/0004.png", "dog/0002.png"]
    bar.flagged.setChecked(False)
    bar.issue.setCurrentIndex(bar.issue.findData("label"))
    assert len(grid_paths(window)) == 3
    bar.issue.setCurrentIndex(bar.issue.findData("broken"))
    assert grid_paths(window) == []
    for name in ("dark", "light", "blurry", "odd_size"):  # image-property issue types
        assert bar.issue.findData(name) > 0
    bar.issue.setCurrentIndex(bar.issue.findData("dark"))
    assert grid_paths(window) == []  # this scan flags labels only
    bar.issue.setCurrentIndex(0)
    bar.given.setCurrentIndex(bar.given.findData(2))
    assert grid_paths(window) == [f"owl/{i:04d}.png" for i in range(4)]
    bar.given.setCurrentIndex(0)
    bar.suggested.setCurrentIndex(bar.suggested.findData(1))
    assert grid_paths(window) == ["cat/0001.png", *[f"dog/{i:04d}.png" for i in (0, 1, 3, 4)]]
    bar.suggested.setCurrentIndex(0)
    bar.state.setCurrentIndex(bar.state.findData("needs my vote"))
    assert len(grid_paths(window)) == 3
    bar.state.setCurrentIndex(0)
    qtbot.keyClicks(bar.search, "0003")
    qtbot.waitUntil(lambda: len(grid_paths(window)) == 3)
    assert grid_paths(window) == ["cat/0003.png", "dog/0003.png", "owl/0003.png"]
    assert bar.count_label.text() == "3 of 15"
    bar.clear_button.click()
    assert len(grid_paths(window)) == 15 and bar.search.text() == ""


def test_noise_matrix_click_shows_exactly_that_cell(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    window.tabs.setCurrentWidget(window.noise_panel)
    matrix = window.noise_panel.matrix
    qtbot.waitExposed(matrix)
    assert matrix.counts.tolist() == noise_matrix(window.session.data).tolist()
    center = matrix.cell_rect(0, 1).center()
    qtbot.mouseClick(matrix, Qt.MouseButton.LeftButton, pos=center)
    assert grid_paths(window) == ["cat/0001.png"]
    assert window.tabs.currentIndex() == 0
    assert window.filter_bar.given.currentData() == 0
    assert window.filter_bar.suggested.currentData() == 1
    # "Flagged only" counts only flagged images; the diagonal then holds none.
    window.tabs.setCurrentWidget(window.noise_panel)
    window.noise_panel.flagged_only.setChecked(True)
    assert int(matrix.counts.sum()) == 3
    qtbot.mouseClick(matrix, Qt.MouseButton.LeftButton, pos=matrix.cell_rect(0, 0).center())
    assert grid_paths(window) == []
    assert window.filter_bar.flagged.isChecked()


def test_sidebar_click_scrolls_to_the_class(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    window.resize(900, 420)
    grid = window.grid
    grid.set_tile_size(160)
    qtbot.waitUntil(lambda: grid.grid_model.columns == grid.columns_for_width())
    sidebar = window.sidebar
    owl = sidebar.class_model.index(2, 0)
    qtbot.mouseClick(
        sidebar.viewport(), Qt.MouseButton.LeftButton, pos=sidebar.visualRect(owl).center()
    )
    header = grid.grid_model.header_slot(2)
    assert header > 0
    rect = grid.visualRect(grid.grid_model.index_of_slot(header))
    at_end = grid.verticalScrollBar().value() == grid.verticalScrollBar().maximum()
    assert rect.top() == 0 or (at_end and rect.bottom() <= grid.viewport().height())
    assert grid.verticalScrollBar().value() > 0
    # Slots and Qt's layout agree: an image slot sits in column slot % columns.
    slot = grid.grid_model.slot_of_view_index(0)
    rect = grid.visualRect(grid.grid_model.index_of_slot(slot))
    assert rect.left() == (slot % grid.grid_model.columns) * grid.cell().width()


def test_tile_size_keys_relayout(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    grid = window.grid
    before = grid.tile_size
    qtbot.keyClick(grid, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert grid.tile_size == before + 16
    qtbot.keyClick(grid, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(grid, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert grid.tile_size == before - 16
    qtbot.waitUntil(lambda: grid.grid_model.columns == grid.columns_for_width())
    assert window.prefs.tile_size(0) == before - 16  # remembered on this machine


def test_thumbnails_load_and_a_missing_file_shows_why(
    qtbot, project, tiny_tree, make_window
) -> None:  # type: ignore[no-untyped-def]
    (tiny_tree / "cat" / "0001.png").unlink()
    window = make_window(project.folder)
    grid = window.grid
    qtbot.waitUntil(grid.visible_done, timeout=10_000)
    data = window.session.data
    missing = int(data.image_ids[data.search("cat/0001.png")][0])
    present = int(data.image_ids[data.search("cat/0000.png")][0])
    assert window.loader.failure(missing) == "file not found"
    assert window.loader.pixmap(present) is not None
    assert window.session.current_row == int(data.row_of([missing])[0])
    qtbot.waitUntil(lambda: not window.detail.busy, timeout=5000)
    assert "file not found" in window.detail.image_error.text()
    grid.viewport().repaint()  # painting a failed tile must not raise


def test_stale_requests_are_dropped(qtbot, project) -> None:  # type: ignore[no-untyped-def]
    from labelaudit.core.views import load_review_data
    from labelaudit.gui.workers.thumbs import JOB_SIZE, ThumbLoader, ThumbSource

    loader = ThumbLoader()
    loader.set_source(ThumbSource(project.store, project.image_root, project.thumb_dir))
    data = load_review_data(project.store)
    everything = [(int(i), data.path(r)) for r, i in enumerate(data.image_ids)]
    loader.request(everything[:12], [])
    loader.request(everything[12:], [])  # scrolled on: queued jobs of the first are dropped
    qtbot.waitUntil(lambda: all(loader.is_done(i) for i, _ in everything[12:]), timeout=10_000)
    loader.shutdown()
    # The third job of the first request never ran; running jobs stopped after one image.
    assert loader.loaded_count <= 3 + 2 * JOB_SIZE
    assert not all(loader.is_done(i) for i, _ in everything[:12])


def test_detail_pane_shows_probabilities_and_neighbours(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    detail = window.detail
    qtbot.waitUntil(lambda: not detail.busy, timeout=5000)
    assert window.session.data.path(window.session.current_row) == "cat/0001.png"
    names = [name for name, _, _ in detail.probs.items]
    assert names[0] == "dog" and len(names) == 3
    assert detail.suggested.text().startswith("dog")
    assert "nearest" in detail.given_strip.title  # embeddings exist
    # Typical members: the model agrees with their label (cat has 2 flagged of 6).
    assert len(detail.given_strip.items) == 4 and len(detail.suggested_strip.items) == 4
    qtbot.waitUntil(lambda: detail.image_view.has_image(), timeout=5000)
    before = detail.image_view.scale_factor
    detail.image_view.zoom(2.0)
    assert detail.image_view.scale_factor == pytest.approx(before * 2.0)
    row = detail.suggested_strip.items[0][0]
    qtbot.mouseDClick(detail.suggested_strip, Qt.MouseButton.LeftButton, pos=QPoint(10, 30))
    assert window.session.current_row == row  # double-click: in the view, so it goes there
    qtbot.waitUntil(lambda: not detail.busy, timeout=5000)
    assert detail.title.text() == f"<b>{window.session.data.path(row)}</b>"  # the path, once


# The offscreen platform cannot raise a popup or grab the keyboard for it (it still shows).
@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing")
def test_comparison_thumbnails_never_become_the_image_voted_on(  # type: ignore[no-untyped-def]
    qtbot, project, make_window
) -> None:
    window = make_window(project.folder)
    window.filter_bar.flagged.setChecked(True)  # the typical members are not flagged
    session, detail = window.session, window.detail
    qtbot.waitUntil(lambda: not detail.busy and bool(detail.given_strip.items), timeout=5000)
    current = session.current_row
    strip = detail.given_strip
    compared = strip.items[0][0]
    assert session.view_index_of(compared) < 0
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=QPoint(10, 30))
    qtbot.waitUntil(strip.preview.isVisible, timeout=3000)  # enlarged, read-only
    assert session.data.path(compared) in strip.preview.caption.text()
    assert session.current_row == current
    strip.preview.hide()
    qtbot.mouseDClick(strip, Qt.MouseButton.LeftButton, pos=QPoint(10, 30))
    assert session.current_row == current  # not in the view: it stays the current image
    assert "not in the current view" in window.message_bar.text
    assert not strip.preview.isVisible()


def test_arrow_keys_walk_tiles_and_skip_headers(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    grid, session = window.grid, window.session
    grid.setFocus()
    cat = [session.data.path(int(r)) for r in session.view.rows[:6]]
    assert session.data.path(session.current_row) == cat[0]
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert session.data.path(session.current_row) == cat[1]
    for _ in range(len(cat) - 1):  # past the end of the class: over the dog header
        qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert session.data.path(session.current_row) == "dog/0002.png"
    qtbot.keyClick(grid, Qt.Key.Key_Left)
    assert session.data.path(session.current_row) == cat[-1]
    qtbot.keyClick(grid, Qt.Key.Key_Down)
    assert session.data.path(session.current_row).startswith("dog/")

"""Visual tests of the review grid: the main window rendered offscreen at several sizes, the
grid's viewport grabbed after clicks, keys, filter changes and a lead's resolutions, and checked
by geometry and pixel statistics (no reference images):

- every row is as high as its kind asks: class-header rows exactly the header rows;
- every visible tile's image rectangle lies inside its cell and shows its thumbnail (the middle
  band, clear of badges, matches the thumbnail's pixels; it is not a flat fill);
- the focused tile still shows its image and has a frame in the focus colour;
- every visible header row shows its class ribbon.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage
from scans import store_scan, vote_tie

from helpers import make_tree
from labelaudit.core.consensus.annotators import add_annotator
from labelaudit.core.project import Project
from labelaudit.core.views import SLOT_HEADER, SLOT_IMAGE
from labelaudit.gui.style import class_color
from labelaudit.gui.views.tile_delegate import HEADER_HEIGHT, PAD, focus_color

# Flagged images: four cats (the first grid row of class cat) and one dog.
FLAGGED = {
    "cat/0001.png": "dog",
    "cat/0002.png": "owl",
    "cat/0004.png": "owl",
    "cat/0006.png": "dog",
    "dog/0002.png": "cat",
}
BADGE_BAND = 24  # badges sit in the top and bottom 20 px of a tile: compare the band between


@pytest.fixture
def visual_project(tmp_path: Path):  # type: ignore[no-untyped-def]
    """27 noise images (cat 11, dog 9, owl 7) with five flagged; ann, bob and lead lea."""
    tree = make_tree(tmp_path / "images", {"cat": 11, "dog": 9, "owl": 7}, seed=3)
    proj = Project.create(tmp_path / "proj", tree)
    proj.import_images()
    store_scan(proj, suggested=FLAGGED)
    for name in ("ann", "bob"):
        add_annotator(proj.store, name)
    add_annotator(proj.store, "lea", role="lead")
    proj.set_setting("votes_required", "2")
    yield proj
    proj.close()


def as_array(image: QImage) -> np.ndarray:
    """H x W x 3 uint8 RGB of a QImage."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = rgba.width(), rgba.height()
    raw = np.frombuffer(rgba.constBits(), dtype=np.uint8, count=rgba.sizeInBytes())
    return raw.reshape(height, rgba.bytesPerLine() // 4, 4)[:, :width, :3].copy()


def settle(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    """Wait until the grid's columns fit its width and every visible thumbnail is loaded."""
    grid = window.grid
    qtbot.waitUntil(
        lambda: grid.grid_model.columns == grid.columns_for_width() and grid.visible_done(),
        timeout=10000,
    )
    qtbot.wait(30)  # the repaint after the last batch


def resize(qtbot, window, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.width() == max(width, window.minimumSizeHint().width()))
    qtbot.wait(200)  # the grid's debounced column check (120 ms)
    settle(qtbot, window)


def check_grid(window, *, focused: bool = False) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Grab the grid's viewport and assert the geometry and pixels of everything on it;
    returns counts of what was checked (so a test can tell the check saw something)."""
    grid, model = window.grid, window.grid.grid_model
    layout, tile_size = model.layout_ref, grid.tile_size
    cell_height = grid.cell().height()
    for row in range(model.rowCount()):
        kinds = layout.kind[row * model.columns : (row + 1) * model.columns]
        header = bool((kinds == SLOT_HEADER).any())
        want = HEADER_HEIGHT if header else cell_height
        assert grid.rowHeight(row) == want, (
            f"grid row {row} (header={header}) is {grid.rowHeight(row)} px"
        )
    shot = as_array(grid.viewport().grab().toImage())
    viewport = grid.viewport().rect()
    counts = {"tiles": 0, "headers": 0, "focus": 0}
    first, last = grid.visible_slot_range()
    for slot in range(first, min(last, model.slot_count)):
        index = model.index_of_slot(slot)
        cell = grid.visualRect(index)
        tile = model.tile(slot)
        if tile.kind == SLOT_HEADER and tile.column == 0 and viewport.contains(cell):
            _check_header(shot, cell, tile.row)
            counts["headers"] += 1
        if tile.kind != SLOT_IMAGE:
            continue
        image_rect = QRect(cell.x() + PAD, cell.y() + PAD, tile_size, tile_size)
        assert cell.contains(image_rect), f"tile {slot}: image {image_rect} outside its cell {cell}"
        if not viewport.contains(cell):
            continue  # cut by the viewport's edge
        _check_thumb(shot, image_rect, grid.loader.pixmap(int(model.data_ref.image_ids[tile.row])))
        counts["tiles"] += 1
        if focused and index == grid.currentIndex():
            _check_focus_frame(shot, cell, grid)
            counts["focus"] += 1
    assert counts["tiles"] > 0, "no tile was fully visible"
    if focused:
        assert counts["focus"] == 1, "the current tile is not on screen"
    return counts


def _check_thumb(shot: np.ndarray, rect: QRect, pixmap) -> None:  # type: ignore[no-untyped-def]
    assert pixmap is not None, f"no thumbnail for the tile at {rect}"
    thumb = as_array(pixmap.toImage())
    h, w = thumb.shape[:2]
    x = rect.x() + (rect.width() - w) // 2
    y = rect.y() + (rect.height() - h) // 2
    band = slice(BADGE_BAND, h - BADGE_BAND)
    drawn = shot[y : y + h, x : x + w][band].astype(np.int16)
    expected = thumb[band].astype(np.int16)
    assert drawn.std() > 20, f"the tile at {rect} is a flat fill (std {drawn.std():.1f})"
    diff = float(np.abs(drawn - expected).mean())
    assert diff < 4, f"the tile at {rect} does not show its thumbnail (mean diff {diff:.1f})"


def _check_focus_frame(shot: np.ndarray, cell: QRect, grid) -> None:  # type: ignore[no-untyped-def]
    """The frame's top and left edges are in the focus colour; the image inside is not flat."""
    color = np.array(focus_color(grid.palette()).getRgb()[:3], dtype=np.int16)
    top = shot[cell.y() + 1, cell.x() + 2 : cell.right() - 2].astype(np.int16)
    left = shot[cell.y() + 2 : cell.bottom() - 2, cell.x() + 1].astype(np.int16)
    for name, edge in (("top", top), ("left", left)):
        share = float((np.abs(edge - color).max(axis=1) <= 16).mean())
        assert share > 0.9, (
            f"the focus frame's {name} edge is not in the focus colour ({share:.0%})"
        )


def _check_header(shot: np.ndarray, cell: QRect, bucket: int) -> None:
    """The ribbon's left stripe has the class colour."""
    y = cell.y() + cell.height() // 2
    pixel = shot[y, cell.x() + 2].astype(np.int16)
    want = np.array(class_color(bucket).getRgb()[:3], dtype=np.int16)
    assert np.abs(pixel - want).max() <= 16, f"header row at {cell} lacks its class stripe"


def click_tile(qtbot, window, slot: int) -> None:  # type: ignore[no-untyped-def]
    grid = window.grid
    rect = grid.visualRect(grid.grid_model.index_of_slot(slot))
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def first_image_slot(window, *, after: int = 0) -> int:  # type: ignore[no-untyped-def]
    kinds = window.grid.grid_model.layout_ref.kind
    return int(np.flatnonzero(kinds[after:] == SLOT_IMAGE)[0]) + after


def test_focused_tile_keeps_its_image_after_clicks_and_keys(
    qtbot, visual_project, make_window
) -> None:  # type: ignore[no-untyped-def]
    window = make_window(visual_project.folder, annotator="ann")
    resize(qtbot, window, 1000, 700)
    check_grid(window)
    click_tile(qtbot, window, first_image_slot(window, after=3))
    settle(qtbot, window)
    assert window.grid.hasFocus()
    check_grid(window, focused=True)
    for key in (Qt.Key.Key_N, Qt.Key.Key_K, Qt.Key.Key_2, Qt.Key.Key_D, Qt.Key.Key_Right):
        qtbot.keyClick(window.grid, key)
        settle(qtbot, window)
        check_grid(window, focused=True)
    assert int((window.session.data.my_vote != -1).sum()) == 3


def test_rows_keep_their_heights_through_resizes_and_filters(
    qtbot, visual_project, make_window
) -> None:  # type: ignore[no-untyped-def]
    window = make_window(visual_project.folder, annotator="ann")
    for width, height in ((1000, 700), (1400, 900), (800, 500), (1000, 700)):
        resize(qtbot, window, width, height)
        check_grid(window)
    window.filter_bar.flagged.setChecked(True)
    settle(qtbot, window)
    assert check_grid(window)["headers"] >= 1
    resize(qtbot, window, 800, 500)
    window.filter_bar.flagged.setChecked(False)
    settle(qtbot, window)
    check_grid(window)
    resize(qtbot, window, 1400, 900)
    check_grid(window)
    for steps in (1, -2, 1):  # Ctrl+plus / Ctrl+minus: a new tile size, headers stay low
        window.grid.zoom(steps)
        settle(qtbot, window)
        check_grid(window)


def test_rows_stay_apart_while_a_lead_resolves_a_whole_class(
    qtbot, visual_project, make_window
) -> None:  # type: ignore[no-untyped-def]
    data_ids = {}
    window = make_window(visual_project.folder, annotator="lea")
    data = window.session.data
    for path in FLAGGED:
        data_ids[path] = int(data.image_ids[[data.path(r) for r in range(data.n)].index(path)])
        vote_tie(visual_project.store, data_ids[path])
    assert window.session.poll_changes()
    resize(qtbot, window, 1000, 700)
    bar = window.filter_bar
    assert bar.state.findData("needs lead") > 0
    bar.state.setCurrentIndex(bar.state.findData("needs lead"))
    settle(qtbot, window)
    check_grid(window)
    window.grid.setFocus()
    # The lead's queue goes riskiest first, not in grid order: a class's header row goes away
    # with its last image, whichever comes first. (The evidence may settle some ties itself.)
    waiting = len(window.session.view)
    assert waiting >= 3
    seen = []
    for _ in range(waiting - 1):
        seen.append(window.session.data.path(window.session.current_row))
        qtbot.keyClick(window.grid, Qt.Key.Key_K)
        settle(qtbot, window)
        check_grid(window, focused=True)
    left = window.session.data.path(window.session.current_row)
    assert len({*seen, left}) == waiting and {*seen, left} <= set(FLAGGED)
    bar.state.setCurrentIndex(0)
    settle(qtbot, window)
    check_grid(window, focused=True)

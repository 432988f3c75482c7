"""Messages never cover a control, and the shortcuts sheet closes from the main window.

A message (an info, a warning, an error) is checked by geometry, in global coordinates, against
every control on screen, and by pixels: the window rendered while the message shows has the same
tab bar, class-table header, filter row and first row of tiles as before it. The sheet: on an X
server with no window manager the new sheet does not get the keyboard and keys go to the main
window, so Escape and F1 pressed there must close it too.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QApplication,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QTabBar,
    QWidget,
)
from test_visual_grid import as_array, settle

from labelaudit.gui.main_window import MainWindow
from labelaudit.gui.session import ERROR, INFO, WARNING

LONG = "the project database is locked by another program; " * 6  # wraps at any width
CONTROLS = (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QTabBar,
)


def global_rect(widget: QWidget, rect: QRect | None = None) -> QRect:
    """``rect`` (default: the whole widget) in screen coordinates."""
    rect = widget.rect() if rect is None else rect
    return QRect(widget.mapToGlobal(rect.topLeft()), rect.size())


def first_tile_row(window: MainWindow) -> QRect:
    """The grid's first row of image tiles (below the first class header), on screen."""
    grid, model = window.grid, window.grid.grid_model
    row = next(r for r in range(model.rowCount()) if grid.rowHeight(r) == grid.cell().height())
    cells = [grid.visualRect(model.index(row, c)) for c in range(model.columns)]
    band = cells[0].united(cells[-1])
    return global_rect(grid.viewport(), band)


def watched(window: MainWindow) -> dict[str, QRect]:
    return {
        "tab bar": global_rect(window.tabs.tabBar()),
        "class table header": global_rect(window.sidebar.horizontalHeader()),
        "filter row": global_rect(window.filter_bar),
        "first row of tiles": first_tile_row(window),
    }


def covered_controls(window: MainWindow, bar: QWidget) -> list[str]:
    """Visible controls of the window (not the bar's own) that the bar overlaps."""
    mine = set(bar.findChildren(QWidget)) | {bar}
    area = global_rect(bar)
    return [
        f"{type(w).__name__} {w.objectName()}"
        for w in window.findChildren(QWidget)
        if isinstance(w, CONTROLS) and w.isVisible() and w not in mine
        if global_rect(w).intersects(area)
    ]


def pixels(shot: np.ndarray, window: MainWindow, rect: QRect) -> np.ndarray:
    """The part of a window grab that ``rect`` (on screen) covers."""
    origin = window.mapToGlobal(QPoint(0, 0))
    x, y = rect.x() - origin.x(), rect.y() - origin.y()
    return shot[y : y + rect.height(), x : x + rect.width()]


@pytest.mark.parametrize("level", [INFO, WARNING, ERROR])
def test_a_message_covers_no_control_and_moves_none(qtbot, project, make_window, level) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="ann")
    settle(qtbot, window)
    places = watched(window)
    before = as_array(window.grab().toImage())
    for text in ("nothing else needs your vote in this view", LONG):
        window.session.message.emit(level, text)
        qtbot.wait(50)  # the layout settles
        bar = window.message_bar
        assert bar.isVisible() and text.strip() in bar.text
        area = global_rect(bar)
        assert area.height() > 0
        for name, rect in places.items():
            assert not area.intersects(rect), f"the {level} message covers the {name}"
        assert covered_controls(window, bar) == []
        assert watched(window) == places  # nothing moved either
        shot = as_array(window.grab().toImage())
        for name, rect in places.items():
            same = np.array_equal(pixels(shot, window, rect), pixels(before, window, rect))
            assert same, f"the {name} looks different while the {level} message shows"
        assert not bar.hasFocus() and bar.focusPolicy() == Qt.FocusPolicy.NoFocus


def test_a_message_shows_on_the_start_page_too(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    window.session.message.emit(ERROR, "no project in /nope")
    qtbot.wait(20)
    assert window.message_bar.isVisible() and "no project" in window.message_bar.text
    assert covered_controls(window, window.message_bar) == []


def test_escape_and_f1_close_the_sheet_when_keys_go_to_the_main_window(
    qtbot, project, make_window
) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="ann")

    def keys_to_main_window() -> None:  # what an X server with no window manager does
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)

    for close_key in (Qt.Key.Key_Escape, Qt.Key.Key_F1):
        window.grid.setFocus()
        qtbot.keyClick(window.grid, Qt.Key.Key_F1)
        dialog = window.shortcuts_dialog
        assert dialog is not None and dialog.isVisible()
        keys_to_main_window()
        qtbot.keyClick(window.grid, close_key)
        assert not dialog.isVisible(), f"{close_key.name} left the sheet open"
    legend = window.show_legend()  # the tile legend closes the same way
    keys_to_main_window()
    qtbot.keyClick(window.grid, Qt.Key.Key_Escape)
    assert not legend.isVisible()
    # Escape means nothing else on the grid while no sheet is open (the note's Esc still works).
    qtbot.keyClick(window.grid, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    window.vote_bar.note.setText("blurry")
    window.vote_bar.note.setFocus()
    qtbot.keyClick(window.vote_bar.note, Qt.Key.Key_Escape)
    assert window.vote_bar.note.text() == ""


def test_f1_in_the_sheet_closes_it(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="ann")
    dialog = window.show_shortcuts()
    qtbot.waitExposed(dialog)
    qtbot.keyClick(dialog, Qt.Key.Key_F1)
    assert not dialog.isVisible()

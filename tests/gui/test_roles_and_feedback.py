"""What a three-role test of the app found (issue 13, items 3-8): who is working is unmistakable,
messages do not go stale, actions that do nothing say so, progress, the shortcuts sheet, ten
class keys, broken tiles, narrow windows, the start page and the demo's people."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox
from scans import vote_tie

from helpers import make_tree
from labelaudit.core.codes import ImageStatus
from labelaudit.core.consensus.annotators import add_annotator
from labelaudit.core.consensus.resolution import resolve
from labelaudit.core.project import Project
from labelaudit.gui.dialogs.annotator_dialog import AnnotatorDialog
from labelaudit.gui.dialogs.class_picker import ClassPicker
from labelaudit.gui.dialogs.shortcuts_dialog import keys_of
from labelaudit.gui.identity_bar import ANNOTATOR_COLOR, LEAD_COLOR
from labelaudit.gui.main_window import MainWindow
from labelaudit.gui.views.tile_delegate import failure_code
from labelaudit.gui.widgets.message_bar import TIMEOUT_MS

CIFAR = ["airplane", "automobile", "bird", "cat", "deer"]
CIFAR += ["dog", "frog", "horse", "ship", "truck"]


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    qtbot.keyClick(window.grid, key, modifier)


def row_of(window, path: str) -> int:  # type: ignore[no-untyped-def]
    data = window.session.data
    return next(r for r in range(data.n) if data.path(r) == path)


def image_id(window, path: str) -> int:  # type: ignore[no-untyped-def]
    return int(window.session.data.image_ids[row_of(window, path)])


def on_next_modal(kind: type, act: Callable[[QDialog], None], seen: list[QDialog]) -> None:
    """Run ``act`` on the next modal dialog of type ``kind`` once it is open."""

    def check() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, kind):
            seen.append(dialog)
            act(dialog)
        else:
            QTimer.singleShot(20, check)

    QTimer.singleShot(0, check)


def status(window) -> str:  # type: ignore[no-untyped-def]
    return window.statusBar().currentMessage()


# -- 3: who is working ----------------------------------------------------------------------------
def bar_color(window) -> str:  # type: ignore[no-untyped-def]
    """The colour of the identity bar's left end, read from the whole window's pixels."""
    bar = window.identity_bar
    corner = bar.mapTo(window, bar.rect().topLeft())
    return window.grab().toImage().pixelColor(corner.x() + 2, corner.y() + 2).name()


def test_title_and_bar_say_who_works_and_lead_mode_is_coloured(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    lead = make_window(project.folder, annotator="lea")
    assert lead.windowTitle() == "proj — lea (LEAD) — labelaudit"
    bar = lead.identity_bar
    assert bar.isVisible() and bar.role == "lead" and "LEAD MODE" in bar.label.text()
    assert bar_color(lead) == LEAD_COLOR  # the window shows the bar in the lead colour
    annotator = make_window(project.folder, annotator="ann")
    assert annotator.windowTitle() == "proj — ann (annotator) — labelaudit"
    assert bar_color(annotator) == ANNOTATOR_COLOR
    assert "LEAD" not in annotator.identity_bar.label.text()


@pytest.fixture
def open_interactive(qtbot):  # type: ignore[no-untyped-def]
    """A window that may ask who is working (real dialogs), without --annotator."""
    windows: list[MainWindow] = []

    def make() -> MainWindow:
        window = MainWindow(interactive=True)
        window.resize(1000, 700)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        window.deleteLater()


def test_asks_who_works_after_a_lead_or_another_project(qtbot, project, open_interactive) -> None:  # type: ignore[no-untyped-def]
    pid = project.project_id
    seen: list[QDialog] = []

    def pick_ann(dialog: QDialog) -> None:
        assert isinstance(dialog, AnnotatorDialog)
        item = dialog.names.currentItem()
        assert item is not None and item.text().startswith(preselected[0])  # remembered
        dialog.names.setCurrentRow(0)  # "ann"
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    preselected = ["lea"]
    window = open_interactive()
    window.prefs.set_annotator_for(pid, "lea")
    window.prefs.set_last_project(pid)
    on_next_modal(AnnotatorDialog, pick_ann, seen)
    assert window.open_project(project.folder)
    assert len(seen) == 1 and window.session.annotator.name == "ann"  # a lead: asked
    window.session.close_project()
    seen.clear()
    assert window.open_project(project.folder)  # same project, an annotator: not asked
    assert seen == [] and window.session.annotator.name == "ann"
    window.session.close_project()
    window.prefs.set_last_project("another project")
    preselected[0] = "ann"
    on_next_modal(AnnotatorDialog, pick_ann, seen)
    assert window.open_project(project.folder)
    assert len(seen) == 1  # another project was open last: asked


# -- 4: messages ----------------------------------------------------------------------------------
def test_messages_move_nothing_time_out_and_go_on_success(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="ann")
    grid = window.grid.mapTo(window, window.grid.rect().topLeft()), window.grid.size()
    window.session.message.emit("error", "a lead's decision is keep, a class or drop")
    bar = window.message_bar
    assert bar.isVisible() and bar.parent() is window.statusBar()  # covers no control
    qtbot.wait(20)
    assert (window.grid.mapTo(window, window.grid.rect().topLeft()), window.grid.size()) == grid
    assert bar._hide_timer.isActive() and bar._hide_timer.interval() == TIMEOUT_MS["error"]
    window.grid.setFocus()
    press(qtbot, window, Qt.Key.Key_K)  # a vote that goes through
    assert "keep, a class or drop" not in bar.text


def test_a_lead_cannot_press_unsure_on_a_final_decision(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="lea")
    vote_tie(project.store, image_id(window, "cat/0001.png"))
    assert window.session.poll_changes()
    window.session.set_current(row_of(window, "cat/0001.png"))
    assert not window.actions_.unsure.isEnabled()
    assert not window.vote_bar.unsure_button.isEnabled()
    window.session.set_current(row_of(window, "dog/0002.png"))  # still needs votes
    assert window.actions_.unsure.isEnabled()


# -- 5: actions that did nothing say so -----------------------------------------------------------
def test_silent_actions_get_a_status_message(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="ann")
    window.grid.setFocus()
    press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert status(window) == "nothing to undo"
    press(qtbot, window, Qt.Key.Key_R)
    assert "only a lead can add images to review" in status(window)
    qtbot.keyClicks(window.filter_bar.search, "zzz")  # nothing matches: no current image
    qtbot.waitUntil(lambda: window.session.current_row == -1)
    window.grid.setFocus()
    press(qtbot, window, Qt.Key.Key_K)
    assert status(window).startswith("no image selected")
    window.filter_bar.clear_button.click()
    resolve(project.store, lead="lea", image_id=image_id(window, "cat/0001.png"), decision="dog")
    assert window.session.poll_changes()
    window.session.set_current(row_of(window, "cat/0001.png"))
    window.grid.setFocus()
    press(qtbot, window, Qt.Key.Key_K)
    assert "the lead's decision is final" in status(window)


# -- 6: progress ----------------------------------------------------------------------------------
def test_progress_for_me_the_team_and_the_lead(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="ann")
    assert window.progress.text() == "Me: reviewed 0 of 3\nTeam: settled 0 of 3"
    window.grid.setFocus()
    press(qtbot, window, Qt.Key.Key_K)
    assert window.progress.text().startswith("Me: reviewed 1 of 3")
    _, bar = window.progress.lines["me"]
    assert (bar.value(), bar.maximum()) == (1, 3)
    vote_tie(project.store, image_id(window, "dog/0002.png"))
    lead = make_window(project.folder, annotator="lea")
    assert "Lead: decided 0 of 1" in lead.progress.text()
    lead.session.set_current(row_of(lead, "dog/0002.png"))
    lead.grid.setFocus()
    press(qtbot, lead, Qt.Key.Key_K)
    assert "Lead: decided 1 of 1" in lead.progress.text()
    assert "Team: settled 1 of 3" in lead.progress.text()


# -- 7: shortcuts sheet ---------------------------------------------------------------------------
def test_f1_shows_every_key_and_the_review_menu_lists_the_digits(
    qtbot, project, make_window
) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="ann")
    window.grid.setFocus()
    press(qtbot, window, Qt.Key.Key_F1)
    dialog = window.shortcuts_dialog
    assert dialog is not None and dialog.isVisible()
    text = dialog.text.text()
    keyed = [a for a in window.actions() if a.shortcuts() and (a.isEnabled() or a.isVisible())]
    missing = [keys_of(a) for a in keyed if keys_of(a) not in text]
    assert not missing, f"keys missing from the sheet: {missing}"
    for needed in ("K", "D", "U", "J", "N / Space", "Ctrl+E", "R", "Ctrl+Z", "F1 / ?", "← → ↑ ↓"):
        assert f"<b>{needed}</b>" in text
    assert "relabel to owl" in text
    dialog.close()
    review = next(m for m in window.menuBar().actions() if m.text() == "&Review").menu()
    relabel = next(a.menu() for a in review.actions() if a.menu() is not None)
    assert [a.text() for a in relabel.actions() if a.isVisible()] == ["1: cat", "2: dog", "3: owl"]
    press(qtbot, window, Qt.Key.Key_Question)
    assert dialog.isVisible()
    dialog.close()


# -- 8: small things ------------------------------------------------------------------------------
def _classes_project(tmp_path: Path, names: list[str]) -> Project:
    tree = make_tree(tmp_path / "images", {name: 1 for name in names})
    proj = Project.create(tmp_path / "proj10", tree)
    proj.import_images()
    add_annotator(proj.store, "ann")
    return proj


def test_ten_named_classes_have_ten_keys_and_buttons(qtbot, tmp_path, make_window) -> None:  # type: ignore[no-untyped-def]
    proj = _classes_project(tmp_path, CIFAR)
    try:
        window = make_window(proj.folder, annotator="ann")
        buttons = window.vote_bar.class_buttons
        assert all(b.isVisibleTo(window) for b in buttons)
        assert buttons[0].text() == "0: truck" and buttons[1].text() == "1: airplane"
        window.session.set_current(0)
        window.grid.setFocus()
        press(qtbot, window, Qt.Key.Key_0)
        data = window.session.data
        assert data.class_names[int(data.my_vote[0])] == "truck"
    finally:
        proj.close()


def test_beyond_ten_classes_c_opens_a_type_to_filter_picker(qtbot, tmp_path, make_window) -> None:  # type: ignore[no-untyped-def]
    proj = _classes_project(tmp_path, [*CIFAR, "zebra", "yak"])
    try:
        window = make_window(proj.folder, annotator="ann")
        window.session.set_current(0)
        seen: list[QDialog] = []

        def type_yak(dialog: QDialog) -> None:
            qtbot.keyClicks(dialog.query, "ya")
            qtbot.keyClick(dialog.query, Qt.Key.Key_Return)

        on_next_modal(ClassPicker, type_yak, seen)
        window.grid.setFocus()
        press(qtbot, window, Qt.Key.Key_C)
        assert len(seen) == 1
        data = window.session.data
        assert data.class_names[int(data.my_vote[0])] == "yak"
    finally:
        proj.close()


def test_broken_tiles_show_a_reason_code_and_the_pane_the_full_text(  # type: ignore[no-untyped-def]
    qtbot, tmp_path, tiny_tree, make_window
) -> None:
    (tiny_tree / "cat" / "0099.png").write_bytes(b"this is not a png")
    proj = Project.create(tmp_path / "broken", tiny_tree)
    proj.import_images()
    add_annotator(proj.store, "ann")
    try:
        window = make_window(proj.folder, annotator="ann")
        row = row_of(window, "cat/0099.png")
        ident = int(window.session.data.image_ids[row])
        window.session.set_current(row)
        qtbot.waitUntil(lambda: window.loader.failure(ident) is not None, timeout=5000)
        assert failure_code(window.loader.failure(ident)) == "not an image"
        qtbot.waitUntil(lambda: not window.detail.busy, timeout=5000)
        assert "cannot identify image file" in window.detail.image_error.text()
    finally:
        proj.close()
    assert failure_code("file not found") == "missing"
    assert failure_code("OSError: image file is truncated (3 bytes not processed)") == "truncated"
    assert failure_code("ValueError: something odd") == "unreadable"


def test_narrow_windows_hide_the_sidebar_and_clip_no_button(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="ann")
    for width in (800, 720, 1000):

        def fits(width: int = width) -> bool:
            # The first resize hides the sidebar, which lowers the minimum: resize again.
            window.resize(width, 600)
            return window.width() <= max(width, 820)

        qtbot.waitUntil(fits, timeout=5000)
        assert window.sidebar.isVisible() == (width >= 1000)
        right = window.right_pane
        assert right.width() >= right.minimumSizeHint().width()
        assert right.geometry().right() <= window.centralWidget().width()
        bar = window.vote_bar
        for button in (bar.keep_button, bar.drop_button, bar.unsure_button, bar.next_button):
            assert button.width() >= button.sizeHint().width(), button.text()


def test_start_page_lists_recent_projects_and_opens_one(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(None)
    assert window.pages.currentWidget() is window.start_page
    window.prefs.add_recent(project.folder)
    window._fill_recent()
    page = window.start_page
    assert page.recent.count() == 1 and str(project.folder) in page.recent.item(0).text()
    page.recent.itemActivated.emit(page.recent.item(0))
    assert window.session.project is not None
    assert window.pages.currentIndex() == 1
    window.session.close_project()
    assert window.pages.currentWidget() is window.start_page


def test_start_page_builds_and_opens_the_demo(qtbot, tmp_path, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(None, annotator="ana")
    page = window.start_page
    page.demo_dir = tmp_path / "demo"
    page.demo_args = ["--skip-scan"]
    page.demo_button.click()
    qtbot.waitUntil(lambda: window.session.project is not None, timeout=90000)
    assert window.session.annotator is not None and window.session.annotator.name == "ana"
    assert "lena (lead)" in page.demo_log.toPlainText()
    assert int(np.sum(window.session.data.status == ImageStatus.OK)) > 900

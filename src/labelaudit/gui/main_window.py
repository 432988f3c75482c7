"""The main window: menus, class sidebar, grid with filters, detail pane, noise matrix, summary.

It wires widgets to the session; the work itself is in the session and the core.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QWidget,
)

from labelaudit.core.project import PROJECT_FILE
from labelaudit.core.views import Filters
from labelaudit.gui import identity, report_export, window_layout, window_refresh
from labelaudit.gui.actions import Actions
from labelaudit.gui.dialogs.new_project_dialog import NewProjectDialog
from labelaudit.gui.dialogs.scan_dialog import ScanDialog
from labelaudit.gui.dialogs.shortcuts_dialog import ShortcutsDialog
from labelaudit.gui.identity_bar import APP_NAME, IdentityBar
from labelaudit.gui.legend import LegendDialog
from labelaudit.gui.prefs import Prefs
from labelaudit.gui.review_controls import ReviewControls
from labelaudit.gui.session import ERROR, INFO, STATUS, ReviewSession
from labelaudit.gui.sheet_keys import SheetKeys
from labelaudit.gui.views.noise_matrix import NoisePanel
from labelaudit.gui.views.thumb_grid import ThumbGrid
from labelaudit.gui.widgets.agreement_panel import AgreementPanel
from labelaudit.gui.widgets.class_sidebar import ClassSidebar
from labelaudit.gui.widgets.detail_pane import DetailPane
from labelaudit.gui.widgets.filter_bar import FilterBar
from labelaudit.gui.widgets.message_bar import MessageBar
from labelaudit.gui.widgets.progress_panel import ProgressPanel
from labelaudit.gui.widgets.start_page import StartPage
from labelaudit.gui.widgets.summary_panel import SummaryPanel
from labelaudit.gui.widgets.vote_bar import VoteBar
from labelaudit.gui.workers.thumbs import ThumbLoader

POLL_MS = 2000
STATUS_MS = 5000  # a status-bar note stays this long
# Below this window width the class sidebar goes away, so the grid and the detail pane keep
# their room (the detail pane and the vote buttons never go below their minimum width).
NARROW_WIDTH = 1000
__all__ = ["APP_NAME", "MainWindow", "env_annotator"]


class MainWindow(QMainWindow):
    # made by window_layout.arrange
    tabs: QTabWidget
    detail_scroll: QScrollArea
    right_pane: QWidget
    splitter: QSplitter
    pages: QStackedWidget

    def __init__(
        self,
        session: ReviewSession | None = None,
        prefs: Prefs | None = None,
        *,
        annotator: str | None = None,
        interactive: bool = True,
    ) -> None:
        super().__init__()
        self.session = session or ReviewSession(self)
        self.prefs = prefs or Prefs()
        self.requested_annotator = annotator
        self.interactive = interactive
        self.loader = ThumbLoader(self)
        self.poll_timer = QTimer(self)
        self.scan_dialog: ScanDialog | None = None
        self.legend_dialog: LegendDialog | None = None
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self._sidebar_folded = False
        self._build_ui()
        self._connect()
        self.controls = ReviewControls(self)
        self.update_identity()

    # -- construction ---------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.actions_ = Actions(self)
        self.grid = ThumbGrid(self.loader)
        self.grid.set_tile_size(self.prefs.tile_size(self.grid.tile_size))
        self.filter_bar = FilterBar()
        self.sidebar = ClassSidebar()
        self.detail = DetailPane(self.session)
        self.vote_bar = VoteBar(self.actions_)
        self.noise_panel = NoisePanel()
        self.summary = SummaryPanel(self.session)
        self.agreement = AgreementPanel(self.session)
        self.message_bar = MessageBar()
        self.identity_bar = IdentityBar()
        self.progress = ProgressPanel()
        self.start_page = StartPage()
        window_layout.arrange(self)
        self.setCentralWidget(self.pages)
        # R by an annotator says why nothing happens (the lead's action is hidden and disabled).
        self.r_for_annotators = QShortcut(QKeySequence("R"), self)
        self.sheet_keys = SheetKeys(self)  # Escape closes the sheets without a window manager
        self.status_label = QLabel()
        self.scan_note = QLabel()  # a scan running while its dialog is hidden
        # Messages live in the status bar's row: they cover no control and move none.
        self.statusBar().addWidget(self.message_bar, 1)
        self.statusBar().addPermanentWidget(self.scan_note)
        self.statusBar().addPermanentWidget(self.status_label)
        self._build_menus()
        self.setAcceptDrops(True)
        self.poll_timer.setInterval(POLL_MS)
        window_refresh.set_review_enabled(self, False)

    def _build_menus(self) -> None:
        a = self.actions_
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([a.open_project, a.new_project])
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addActions([a.close_project, a.who, a.export_report])
        file_menu.addSeparator()
        file_menu.addAction(a.quit)
        review = bar.addMenu("&Review")
        review.addActions([a.keep, a.drop, a.unsure])
        relabel = review.addMenu("Relabel to (digit keys)")
        relabel.addActions(a.relabel)
        review.addActions([a.pick_class, a.note, a.accept, a.add_review])
        review.addSeparator()
        review.addActions([a.next, a.previous, a.next_needing])
        review.addSeparator()
        review.addActions([a.undo, a.redo])
        view = bar.addMenu("&View")
        view.addActions([a.zoom_in, a.zoom_out, a.refresh])
        view.addSeparator()
        view.addAction(a.legend)
        bar.addMenu("&Scan").addAction(a.scan)
        bar.addMenu("&Help").addActions([a.shortcuts, a.legend])
        self._fill_recent()

    def _connect(self) -> None:
        s, a = self.session, self.actions_
        s.project_changed.connect(self._on_project_changed)
        s.data_changed.connect(self._on_data_changed)
        s.view_changed.connect(self._on_view_changed)
        s.current_changed.connect(self._on_current_changed)
        s.message.connect(self.show_message)
        s.succeeded.connect(self.message_bar.clear_problem)
        self.identity_bar.switch_button.clicked.connect(lambda: self.choose_annotator(ask=True))
        self.r_for_annotators.activated.connect(lambda: s.add_to_review())
        self.start_page.open_requested.connect(self.open_project)
        self.start_page.open_dialog_requested.connect(self.choose_project)
        self.start_page.new_requested.connect(lambda: self.new_project())
        a.shortcuts.triggered.connect(self.toggle_shortcuts)
        self.filter_bar.filters_changed.connect(s.set_filters)
        self.sidebar.bucket_clicked.connect(self._show_bucket)
        self.grid.current_row_changed.connect(s.set_current)
        self.grid.columns_changed.connect(lambda _c: window_refresh.relayout(self))
        self.grid.tile_size_changed.connect(self.prefs.set_tile_size)
        self.noise_panel.cell_clicked.connect(self.show_cell)
        self.noise_panel.flagged_only.toggled.connect(
            lambda _on: window_refresh.update_matrix(self)
        )
        for strip in (self.detail.given_strip, self.detail.suggested_strip):
            strip.row_activated.connect(self._go_to_comparison)
        self.poll_timer.timeout.connect(s.poll_changes)
        a.open_project.triggered.connect(self.choose_project)
        a.new_project.triggered.connect(lambda: self.new_project())
        a.close_project.triggered.connect(s.close_project)
        a.who.triggered.connect(lambda: self.choose_annotator(ask=True))
        a.quit.triggered.connect(self.close)
        a.zoom_in.triggered.connect(lambda: self.grid.zoom(1))
        a.zoom_out.triggered.connect(lambda: self.grid.zoom(-1))
        a.refresh.triggered.connect(s.reload)
        a.legend.triggered.connect(self.show_legend)
        a.scan.triggered.connect(self.open_scan_dialog)
        a.export_report.triggered.connect(lambda: self.export_report())

    def show_message(self, level: str, text: str) -> None:
        """A note about an action that did nothing is plain status-bar text (hiding a message
        for its few seconds); the rest goes to the message bar, which replaces such a note."""
        if level == STATUS:
            self.statusBar().showMessage(text, STATUS_MS)
        else:
            self.statusBar().clearMessage()
            self.message_bar.show_message(level, text)

    def show_shortcuts(self) -> ShortcutsDialog:
        if self.shortcuts_dialog is None:
            self.shortcuts_dialog = ShortcutsDialog(self.actions_, self)
            self.sheet_keys.watch(self.shortcuts_dialog)
        self.shortcuts_dialog.refresh()
        self.shortcuts_dialog.show()
        return self.shortcuts_dialog

    def toggle_shortcuts(self) -> None:
        """F1 (or ?) shows the sheet, and closes it again when the main window has the keys."""
        if self.shortcuts_dialog is not None and self.shortcuts_dialog.isVisible():
            self.shortcuts_dialog.close()
        else:
            self.show_shortcuts()

    def show_legend(self) -> LegendDialog:
        """The tile legend, non-modal so it can stay open beside the grid."""
        if self.legend_dialog is None:
            self.legend_dialog = LegendDialog(self)
            self.sheet_keys.watch(self.legend_dialog)
        self.legend_dialog.show()
        return self.legend_dialog

    # -- projects -------------------------------------------------------------------------------
    def open_project(self, folder: Path, *, db_url: str | None = None) -> bool:
        self.statusBar().showMessage(f"opening {folder}…")
        opened = self.session.open_project(folder, db_url=db_url)
        self.statusBar().clearMessage()
        if opened and self.session.project is not None:
            self.prefs.add_recent(self.session.project.folder)
            self._fill_recent()
            self.choose_annotator()
        return opened

    def choose_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a labelaudit project")
        if folder:
            self.open_project(Path(folder))

    def new_project(self, images: Path | None = None) -> None:
        dialog = NewProjectDialog(images, self)
        if dialog.exec() and dialog.created is not None:
            self.open_project(dialog.created)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for folder in self.prefs.recent_projects():
            action = self.recent_menu.addAction(folder)
            action.triggered.connect(lambda _=False, f=folder: self.open_project(Path(f)))
        self.recent_menu.setEnabled(bool(self.prefs.recent_projects()))
        self.start_page.set_recent(self.prefs.recent_projects())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and Path(urls[0].toLocalFile()).is_dir():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        folder = Path(event.mimeData().urls()[0].toLocalFile())
        event.acceptProposedAction()
        if (folder / PROJECT_FILE).is_file():
            self.open_project(folder)
        elif self.interactive:
            self.new_project(folder)

    def export_report(self, target: Path | None = None) -> None:
        """File > Export report… (``report_export.py``)."""
        report_export.export_report(self, target)

    # -- who is working -------------------------------------------------------------------------
    def choose_annotator(self, *, ask: bool = False) -> None:
        identity.choose_annotator(self, ask=ask)

    # -- reacting to the session (window_refresh.py) --------------------------------------------
    # Bound methods, not lambdas: Qt drops these connections when the window goes away.
    def _on_project_changed(self) -> None:
        window_refresh.on_project_changed(self)

    def _on_data_changed(self) -> None:
        window_refresh.on_data_changed(self)

    def _on_view_changed(self) -> None:
        window_refresh.on_view_changed(self)

    def _on_current_changed(self, row: int) -> None:
        window_refresh.on_current_changed(self, row)

    def update_identity(self) -> None:
        identity.update_identity(self)

    # -- user actions ---------------------------------------------------------------------------
    def _go_to_comparison(self, row: int) -> None:
        """A double-clicked comparison image becomes current only if the view shows it (the
        next key must not vote on an image the filters hide)."""
        if self.session.view_index_of(row) < 0:
            self.session.message.emit(INFO, "that image is not in the current view")
            return
        self.session.set_current(row)

    def _show_bucket(self, bucket: int) -> None:
        self.tabs.setCurrentIndex(0)
        if self.grid.grid_model.header_slot(bucket) < 0:
            self.session.message.emit(INFO, "no images of that class pass the current filters")
            return
        self.grid.scroll_to_bucket(bucket)

    def show_cell(self, given: int, likely: int, flagged_only: bool) -> None:
        """A noise-matrix cell: the grid shows exactly those images."""
        self.session.set_filters(Filters.for_cell(given, likely, flagged_only=flagged_only))
        self.filter_bar.set_filters(self.session.filters)
        self.tabs.setCurrentIndex(0)

    def open_scan_dialog(self) -> None:
        if self.session.project is None:
            return
        if self.scan_dialog is None:
            self.scan_dialog = ScanDialog(self.session, self)
            self.scan_dialog.scan_finished.connect(self._on_scan_finished)
            self.scan_dialog.backgrounded.connect(self._on_scan_backgrounded)
        self.scan_note.clear()
        self.scan_dialog.show()
        if QGuiApplication.platformName() != "offscreen":  # offscreen warns it cannot raise
            self.scan_dialog.raise_()

    def _on_scan_backgrounded(self) -> None:
        self.scan_note.setText("scan running in the background (Scan ▸ Run scan… shows it)")

    def _on_scan_finished(self, ok: bool, text: str) -> None:
        self.scan_note.clear()
        if ok:
            self.session.reload()
            self.session.message.emit(INFO, "scan finished: the grid shows its results")
        else:
            self.session.message.emit(ERROR, f"the scan did not finish: {text}")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_width()

    def _fit_width(self) -> None:
        """Hide the class sidebar in a narrow window (and show it again in a wide one): the
        grid and the detail pane keep their minimum widths, and the window may shrink to theirs
        (the filter bar's and the vote buttons': nothing is clipped)."""
        narrow = self.width() < NARROW_WIDTH
        if narrow != self._sidebar_folded:
            self._sidebar_folded = narrow
            self.sidebar.setVisible(not narrow)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.start_page.stop()
        self.poll_timer.stop()
        if self.scan_dialog is not None:
            self.scan_dialog.stop_for_exit()
            self.scan_dialog.close()
        self.loader.shutdown()
        self.detail.shutdown()
        self.session.close_project()
        super().closeEvent(event)


def env_annotator(explicit: str | None) -> str | None:
    return explicit or os.environ.get("LABELAUDIT_ANNOTATOR") or None

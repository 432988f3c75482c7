"""What the main window's helpers need from it: its session, preferences and widgets.

``identity.py``, ``review_controls.py``, ``window_layout.py``, ``window_refresh.py`` and
``report_export.py`` take a :class:`WindowParts` rather than the ``MainWindow`` class, so they do
not import ``main_window.py`` (which imports them). ``MainWindow`` satisfies it as it is.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QTimer
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QLabel, QScrollArea, QSplitter, QStackedWidget, QTabWidget, QWidget

from labelaudit.gui.actions import Actions
from labelaudit.gui.identity_bar import IdentityBar
from labelaudit.gui.prefs import Prefs
from labelaudit.gui.session import ReviewSession
from labelaudit.gui.views.noise_matrix import NoisePanel
from labelaudit.gui.views.thumb_grid import ThumbGrid
from labelaudit.gui.widgets.agreement_panel import AgreementPanel
from labelaudit.gui.widgets.class_sidebar import ClassSidebar
from labelaudit.gui.widgets.detail_pane import DetailPane
from labelaudit.gui.widgets.filter_bar import FilterBar
from labelaudit.gui.widgets.progress_panel import ProgressPanel
from labelaudit.gui.widgets.start_page import StartPage
from labelaudit.gui.widgets.summary_panel import SummaryPanel
from labelaudit.gui.widgets.vote_bar import VoteBar
from labelaudit.gui.workers.thumbs import ThumbLoader


class WindowParts(Protocol):
    session: ReviewSession
    prefs: Prefs
    requested_annotator: str | None  # --annotator / LABELAUDIT_ANNOTATOR
    interactive: bool  # False in tests: no dialog may open
    actions_: Actions
    loader: ThumbLoader
    poll_timer: QTimer
    grid: ThumbGrid
    filter_bar: FilterBar
    sidebar: ClassSidebar
    detail: DetailPane
    vote_bar: VoteBar
    noise_panel: NoisePanel
    summary: SummaryPanel
    agreement: AgreementPanel
    identity_bar: IdentityBar
    progress: ProgressPanel
    start_page: StartPage
    status_label: QLabel
    r_for_annotators: QShortcut  # R by an annotator: says why nothing happens
    # made by window_layout.arrange
    tabs: QTabWidget
    detail_scroll: QScrollArea
    right_pane: QWidget
    splitter: QSplitter
    pages: QStackedWidget

    def window(self) -> QWidget:
        """The top-level widget (the main window itself): the parent of dialogs."""
        ...

    def show_message(self, level: str, text: str) -> None: ...

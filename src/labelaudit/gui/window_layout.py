"""How the main window's widgets are arranged: the start page or the review page (who is
working, then class sidebar | tabs with the grid | detail pane, progress and vote buttons)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from labelaudit.gui.window_parts import WindowParts


def arrange(window: WindowParts) -> None:
    """Lay out the widgets ``window`` made; sets ``tabs``, ``detail_scroll``, ``right_pane``,
    ``splitter`` and ``pages`` (page 0: the start page, page 1: the review; the caller makes it
    the central widget)."""
    grid_page = QWidget()
    grid_layout = QVBoxLayout(grid_page)
    grid_layout.setContentsMargins(0, 0, 0, 0)
    grid_layout.addWidget(window.filter_bar)
    grid_layout.addWidget(window.grid, 1)
    window.tabs = QTabWidget()
    window.tabs.addTab(grid_page, "Images")
    # exact counts of given x predicted class, not cleanlab's confident joint (the Summary)
    window.tabs.addTab(window.noise_panel, "Given × predicted")
    window.tabs.addTab(window.summary, "Summary")
    window.tabs.addTab(window.agreement, "Agreement")
    right = QWidget()
    right_layout = QVBoxLayout(right)
    right_layout.setContentsMargins(0, 0, 0, 0)
    # The detail pane scrolls rather than clip its text or force a taller window.
    window.detail_scroll = QScrollArea()
    window.detail_scroll.setWidget(window.detail)
    window.detail_scroll.setWidgetResizable(True)
    window.detail_scroll.setFrameShape(QFrame.Shape.NoFrame)
    window.detail_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    right_layout.addWidget(window.detail_scroll, 1)
    right_layout.addWidget(window.progress)
    right_layout.addWidget(window.vote_bar)
    window.right_pane = right
    window.splitter = QSplitter(Qt.Orientation.Horizontal)
    for widget in (window.sidebar, window.tabs, right):
        window.splitter.addWidget(widget)
    window.splitter.setStretchFactor(1, 1)
    window.splitter.setCollapsible(1, False)
    window.splitter.setCollapsible(2, False)
    window.splitter.setSizes([240, 800, 360])
    review = QWidget()
    layout = QVBoxLayout(review)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(window.identity_bar)
    layout.addWidget(window.splitter, 1)
    window.pages = QStackedWidget()
    window.pages.addWidget(window.start_page)
    window.pages.addWidget(review)

"""The grid's filters: flagged only, issue type, vote state, given / suggested class, file name.

Filtering itself runs in the core on arrays (``core.views.filter_mask``); this only edits a
:class:`Filters` value and announces it.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from labelaudit.core.views import ISSUE_FILTERS, SHOWN_STATES, Filters


class FilterBar(QWidget):
    filters_changed = Signal(object)  # Filters

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._class_names: list[str] = []
        self._updating = False
        self._search_timer = QTimer(self)
        self._build_ui()
        self._connect()

    def _build_ui(self) -> None:
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.flagged = QCheckBox("Flagged")
        self.flagged.setToolTip("flagged only")
        self.issue = QComboBox()
        self.issue.addItem("issue: any", None)
        for name in ISSUE_FILTERS:
            self.issue.addItem(name.replace("_", "-"), name)
        self.state = QComboBox()
        self.state.addItem("state: any", None)
        for name in SHOWN_STATES[1:]:
            self.state.addItem(name, name)
        self.given = QComboBox()
        self.suggested = QComboBox()
        self.search = QLineEdit()
        self.search.setPlaceholderText("file name…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(90)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("show everything")
        self.count_label = QLabel()
        for combo in (self.issue, self.state, self.given, self.suggested):
            # Long class names must not widen the window: combos elide and scroll instead.
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(9)  # "suggested: any" fits whole
        for combo in (self.issue, self.state):  # fixed short lists: always shown whole
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for widget, tip in (
            (self.issue, "issue type"),
            (self.state, "vote state"),
            (self.given, "given class"),
            (self.suggested, "suggested class"),
            (self.search, "file-name search"),
        ):
            widget.setToolTip(tip)
            widget.setAccessibleName(tip)
        # Two rows of controls: at 1000 px wide no combo box is cut short.
        first: tuple[QWidget, ...] = (self.flagged, self.issue, self.state, self.clear_button)
        second: tuple[QWidget, ...] = (self.count_label, self.given, self.suggested, self.search)
        for row, cells in enumerate((first, second)):
            for column, cell in enumerate(cells):
                layout.addWidget(cell, row, column)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self.set_classes([])

    def _connect(self) -> None:
        self.flagged.toggled.connect(self._emit)
        for combo in (self.issue, self.state, self.given, self.suggested):
            combo.currentIndexChanged.connect(self._emit)
        self.search.textChanged.connect(self._search_timer.start)
        self._search_timer.timeout.connect(self._emit)
        self.clear_button.clicked.connect(lambda: self.set_filters(Filters(), emit=True))

    def set_classes(self, class_names: list[str]) -> None:
        if class_names == self._class_names and self.given.count():
            return
        self._class_names = list(class_names)
        self._updating = True
        for combo, label in ((self.given, "given: any"), (self.suggested, "suggested: any")):
            combo.clear()
            combo.addItem(label, None)
            for i, name in enumerate(class_names):
                combo.addItem(name, i)
        self.given.addItem("(no label)", -1)
        self._updating = False

    def filters(self) -> Filters:
        return Filters(
            flagged_only=self.flagged.isChecked(),
            issue=self.issue.currentData(),
            shown_state=self.state.currentData(),
            given=self.given.currentData(),
            suggested=self.suggested.currentData(),
            search=self.search.text(),
        )

    def set_filters(self, filters: Filters, *, emit: bool = False) -> None:
        """Show ``filters`` in the controls (a noise-matrix click sets them from outside)."""
        self._updating = True
        self.flagged.setChecked(filters.flagged_only)
        for combo, value in (
            (self.issue, filters.issue),
            (self.state, filters.shown_state),
            (self.given, filters.given),
            (self.suggested, filters.suggested),
        ):
            combo.setCurrentIndex(max(0, combo.findData(value)))
        self.search.setText(filters.search)
        self._search_timer.stop()
        self._updating = False
        if emit:
            self._emit()

    def show_count(self, shown: int, total: int) -> None:
        self.count_label.setText(f"{shown:,} of {total:,}")

    def _emit(self) -> None:
        if not self._updating:
            self.filters_changed.emit(self.filters())

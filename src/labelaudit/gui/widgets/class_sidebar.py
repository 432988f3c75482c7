"""The class sidebar: counts per class; a click brings that class into view in the grid."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from labelaudit.gui.models.class_model import ClassModel

MAX_WIDTH = 320  # longer class names elide instead of taking the grid's room


class ClassSidebar(QTableView):
    bucket_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.class_model = ClassModel(self)
        self._build_ui()
        self._connect()

    def _build_ui(self) -> None:
        self.setModel(self.class_model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        for column in range(self.class_model.columnCount()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.setAccessibleName("classes")
        self.setMinimumWidth(160)

    def fit_width(self) -> None:
        """As wide as the columns' contents (up to ``MAX_WIDTH``): a few classes need no
        horizontal scroll bar."""
        self.resizeColumnsToContents()
        scroll = self.verticalScrollBar().sizeHint().width()
        wanted = self.horizontalHeader().length() + 2 * self.frameWidth() + scroll
        self.setMinimumWidth(min(max(160, wanted), MAX_WIDTH))

    def _connect(self) -> None:
        self.clicked.connect(self._on_clicked)
        self.activated.connect(self._on_clicked)

    def _on_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.bucket_clicked.emit(self.class_model.bucket(index.row()))

"""The class sidebar's model: each class with its image, flagged and settled counts."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from labelaudit.core.views import ClassStats

Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Class", "Images", "Flagged", "Settled")
HEADER_TIPS = (
    "The given class (click to jump to it in the grid)",
    "Images with this given label",
    "Images the scan flagged as likely problems (wrong label, duplicate, outlier, broken)",
    "Images whose review is finished: agreed by the votes, resolved by the lead, or dropped",
)
BUCKET_ROLE = Qt.ItemDataRole.UserRole + 1


class ClassModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._names: list[str] = []
        self._buckets = np.zeros(0, dtype=np.int64)
        self._table = np.zeros((0, 3), dtype=np.int64)

    def set_stats(self, class_names: list[str], stats: ClassStats) -> None:
        """One row per class, plus "(no label)" when some images have none."""
        k = len(class_names)
        buckets = np.array(list(range(k)) + ([k] if stats.count[k] > 0 else []), dtype=np.int64)
        names = [*class_names, "(no label)"]
        table = np.stack([stats.count, stats.flagged, stats.reviewed], axis=1)
        if names == self._names and np.array_equal(buckets, self._buckets):
            # Same rows (a vote, a poll tick): update counts in place, so the view keeps its
            # selection and scroll position.
            if not np.array_equal(table, self._table):
                self._table = table
                last = self.index(self.rowCount() - 1, len(HEADERS) - 1)
                self.dataChanged.emit(self.index(0, 1), last)
            return
        self.beginResetModel()
        self._names = names
        self._buckets = buckets
        self._table = table
        self.endResetModel()

    def bucket(self, row: int) -> int:
        return int(self._buckets[row])

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else int(self._buckets.shape[0])

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        bucket = int(self._buckets[index.row()])
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return self._names[bucket]
            return f"{int(self._table[bucket, column - 1]):,}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == BUCKET_ROLE:
            return bucket
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            count, flagged, reviewed = (int(v) for v in self._table[bucket])
            return f"{self._names[bucket]}: {count} images, {flagged} flagged, {reviewed} settled"
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

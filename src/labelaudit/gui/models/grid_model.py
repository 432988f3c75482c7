"""The grid's item model: a table of grid rows x tiles per row over a :class:`SlotLayout`.

Cell (r, c) is slot ``r * columns + c``: a class-header slice, an image tile or a filler. A table
(not a list of slots) because QListView's layout asks the model for every row (1,000,000 Python
calls at a million images), while QTableView with fixed section sizes asks for nothing.
The model knows N up front and is reset once per change of view or layout (never filled in
chunks, never filtered by a proxy). The tile delegate reads one role, ``TILE_ROLE``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from labelaudit.core.views import (
    NO_VOTE,
    SLOT_HEADER,
    SLOT_IMAGE,
    ClassStats,
    GridView,
    ReviewData,
    SlotLayout,
    slot_layout,
)
from labelaudit.core.views.lead_queue import VoteSplit, lead_reason, voters
from labelaudit.gui.legend import describe_tile

TILE_ROLE = Qt.ItemDataRole.UserRole + 1

Index = QModelIndex | QPersistentModelIndex


class Tile(NamedTuple):
    """What the delegate paints for one slot."""

    kind: int  # SLOT_EMPTY / SLOT_HEADER / SLOT_IMAGE
    row: int  # image: row of ReviewData; header: bucket; else -1
    column: int  # column of the slot in its grid row


class GridModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.data_ref: ReviewData | None = None
        self.view: GridView | None = None
        self.layout_ref: SlotLayout = _empty_layout()
        self.shown: np.ndarray = np.zeros(0, dtype=np.uint8)
        self.stats: ClassStats | None = None
        # The project's show_suggestion setting off: suggestions stay hidden until I voted.
        self.hide_suggestions = False
        # Vote splits (blind rule applied in the core) and who is looking, for the tooltips.
        self.split: VoteSplit | None = None
        self.viewer_id: int | None = None

    # -- content --------------------------------------------------------------------------------
    def set_content(
        self,
        data: ReviewData,
        view: GridView,
        shown: np.ndarray,
        stats: ClassStats,
        *,
        columns: int,
    ) -> None:
        self.beginResetModel()
        self.data_ref, self.view, self.shown, self.stats = data, view, shown, stats
        self.layout_ref = slot_layout(view, columns)
        self.endResetModel()

    def clear(self) -> None:
        self.beginResetModel()
        self.data_ref, self.view, self.stats = None, None, None
        self.layout_ref = _empty_layout()
        self.shown = np.zeros(0, dtype=np.uint8)
        self.endResetModel()

    @property
    def columns(self) -> int:
        return self.layout_ref.columns

    @property
    def slot_count(self) -> int:
        return len(self.layout_ref)

    def slot(self, index: Index) -> int:
        return index.row() * self.layout_ref.columns + index.column()

    def index_of_slot(self, slot: int) -> QModelIndex:
        columns = self.layout_ref.columns
        return self.index(slot // columns, slot % columns)

    def tile(self, slot: int) -> Tile:
        layout = self.layout_ref
        kind = int(layout.kind[slot])
        ref = int(layout.ref[slot])
        if kind == SLOT_IMAGE and self.view is not None:
            ref = int(self.view.rows[ref])
        return Tile(kind, ref, slot % layout.columns)

    def slot_of_view_index(self, view_index: int) -> int:
        return int(self.layout_ref.slot_of[view_index])

    def suggestion_visible(self, row: int) -> bool:
        data = self.data_ref
        return data is not None and (not self.hide_suggestions or data.my_vote[row] != NO_VOTE)

    def split_text(self, row: int) -> str:
        """The tile's vote split ("2–1"), "" where hidden by blind review or without votes."""
        split = self.split
        return split.text(row) if split is not None and row < split.visible.shape[0] else ""

    def header_slot(self, bucket: int) -> int:
        return int(self.layout_ref.header_slot[bucket])

    # -- Qt API ---------------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.layout_ref) // self.layout_ref.columns

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or not len(self.layout_ref) else self.layout_ref.columns

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.data_ref is None:
            return None
        slot = self.slot(index)
        if role == TILE_ROLE:
            return self.tile(slot)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        tile = self.tile(slot)
        if tile.kind == SLOT_IMAGE:
            path = self.data_ref.path(tile.row)
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.tooltip(tile.row)
            return path.rsplit("/", 1)[-1]
        if tile.kind == SLOT_HEADER:
            return bucket_name(self.data_ref, tile.row)
        return None

    def tooltip(self, row: int) -> str:
        """The image's path, then its badges in words (the tile legend, per tile)."""
        assert self.data_ref is not None
        shown = int(self.shown[row]) if row < self.shown.shape[0] else 0
        badges = describe_tile(
            self.data_ref, row, shown=shown, suggestion_visible=self.suggestion_visible(row)
        )
        return "\n".join([self.data_ref.path(row), *badges, *self._vote_lines(row)])

    def _vote_lines(self, row: int) -> list[str]:
        """The split with who voted what and, for an image waiting for the lead, why."""
        data, text = self.data_ref, self.split_text(row)
        if data is None or not text:
            return []
        cast = voters(data, row, viewer_id=self.viewer_id) or []
        lines = [f"votes {text}: " + ", ".join(f"{who} {what}" for who, what in cast)]
        reason = lead_reason(data, row)
        return [*lines, f"needs the lead: {reason}"] if reason else lines

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        kind = self.layout_ref.kind[self.slot(index)]
        if kind == SLOT_IMAGE:
            return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return Qt.ItemFlag.NoItemFlags


def bucket_name(data: ReviewData, bucket: int) -> str:
    return data.class_names[bucket] if bucket < data.k else "(no label)"


def _empty_layout() -> SlotLayout:
    empty = np.zeros(0, dtype=np.int64)
    return SlotLayout(
        columns=1,
        kind=np.zeros(0, dtype=np.int8),
        ref=empty,
        slot_of=empty,
        header_slot=empty,
    )

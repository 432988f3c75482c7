"""The thumbnail grid: a QTableView of grid rows x tiles, tuned for 1,000,000 images.

A table with fixed row and column sizes lays out nothing per item (QListView's layout calls the
model for every row: seconds at a million rows from Python). Thumbnails arriving never emit
``dataChanged``; the viewport repaints once per batch. The number of columns is the viewport
width over the tile width; when it changes the owner rebuilds the slot layout (debounced).
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from labelaudit.core.views import SLOT_IMAGE
from labelaudit.gui.models.grid_model import GridModel
from labelaudit.gui.views.tile_delegate import HEADER_HEIGHT, TileDelegate, cell_size
from labelaudit.gui.workers.thumbs import ThumbLoader

MIN_TILE, MAX_TILE, TILE_STEP = 48, 256, 16
# While the user scrolls, thumbnails are not fetched (FiftyOne's trick): a request goes out once
# the view has rested SETTLE_MS. Wheel steps rest between notches; a fast fling loads at its end.
SETTLE_MS = 40
Action = QAbstractItemView.CursorAction
# Slot steps of the arrow keys; None: the number of columns (a grid row).
STEPS = {Action.MoveLeft: -1, Action.MoveRight: 1, Action.MoveUp: None, Action.MoveDown: None}


class ThumbGrid(QTableView):
    columns_changed = Signal(int)
    tile_size_changed = Signal(int)
    visible_loaded = Signal()  # every image tile on screen has its thumbnail (or a failure)
    current_row_changed = Signal(int)  # row of ReviewData (-1 for none)

    def __init__(self, loader: ThumbLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.grid_model = GridModel(self)
        self.delegate = TileDelegate(loader, self)
        self._request_timer = QTimer(self)
        self._settle_timer = QTimer(self)
        self._resize_timer = QTimer(self)
        self._last_scroll = 0.0
        self._header_rows: set[int] = set()  # grid rows sized as class headers
        self._build_ui()
        self._connect()

    def _build_ui(self) -> None:
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.hide()
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            header.setMinimumSectionSize(8)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # A scroll bar that comes and goes would change the column count and re-lay out.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setItemDelegate(self.delegate)
        self.setModel(self.grid_model)
        self._apply_tile_size()
        self._request_timer.setSingleShot(True)
        self._request_timer.setInterval(0)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(SETTLE_MS)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.setInterval(120)
        self.setAccessibleName("thumbnail grid")

    def _connect(self) -> None:
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self._request_timer.timeout.connect(self.request_visible)
        self._settle_timer.timeout.connect(self._on_settle)
        self._resize_timer.timeout.connect(self._check_columns)
        self.loader.ready.connect(self._on_thumbs_ready)
        self.grid_model.modelReset.connect(self._size_header_rows)
        self.grid_model.modelReset.connect(self.schedule_request)

    # -- geometry -------------------------------------------------------------------------------
    @property
    def tile_size(self) -> int:
        return self.delegate.tile_size

    def cell(self) -> QSize:
        return cell_size(self.delegate.tile_size)

    def columns_for_width(self) -> int:
        return max(1, self.viewport().width() // self.cell().width())

    def _size_header_rows(self) -> None:
        """Header rows are low; only K rows differ, so this stays cheap at a million images.

        A model reset keeps the sections' sizes: the rows that were headers before (another
        filter, another column count) go back to a tile row's height first, or a row of tiles
        would keep a header's height and the next row would paint over it."""
        model, header = self.grid_model, self.verticalHeader()
        rows = {int(slot) // model.columns for slot in model.layout_ref.header_slot if slot >= 0}
        height = self.cell().height()
        for row in self._header_rows - rows:
            if row < header.count():
                header.resizeSection(row, height)
        for row in rows:
            header.resizeSection(row, HEADER_HEIGHT)
        self._header_rows = rows

    def _apply_tile_size(self) -> None:
        cell = self.cell()
        self.horizontalHeader().setDefaultSectionSize(cell.width())
        self.verticalHeader().setDefaultSectionSize(cell.height())
        self.verticalScrollBar().setSingleStep(cell.height() // 3)
        self.loader.set_side(self.delegate.tile_size)
        self._header_rows = set()  # a new default size resized every row: size headers again
        self._size_header_rows()

    def set_tile_size(self, size: int) -> None:
        size = min(max(size, MIN_TILE), MAX_TILE)
        if size == self.delegate.tile_size:
            return
        self.delegate.tile_size = size
        self._apply_tile_size()
        self.tile_size_changed.emit(size)
        self._check_columns()

    def zoom(self, steps: int) -> None:
        self.set_tile_size(self.delegate.tile_size + steps * TILE_STEP)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._resize_timer.start()

    def _check_columns(self) -> None:
        columns = self.columns_for_width()
        if columns != self.grid_model.columns:
            self.columns_changed.emit(columns)
        self.schedule_request()

    # -- current image and selection ------------------------------------------------------------
    def show_row(self, row: int, view_index: int) -> None:
        """Make the image at ``view_index`` current and scroll it into view."""
        if view_index < 0 or self.grid_model.view is None:
            return
        index = self.grid_model.index_of_slot(self.grid_model.slot_of_view_index(view_index))
        if index != self.currentIndex():
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
            self.selectionModel().setCurrentIndex(index, flags)
        self.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)

    def scroll_to_bucket(self, bucket: int) -> None:
        slot = self.grid_model.header_slot(bucket)
        if slot >= 0:
            index = self.grid_model.index_of_slot(slot)
            self.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)

    def selected_rows(self) -> list[int]:
        """Rows of ReviewData of the selected image tiles, in grid order."""
        model = self.grid_model
        slots = sorted(model.slot(i) for i in self.selectionModel().selectedIndexes())
        tiles = (model.tile(s) for s in slots)
        return [t.row for t in tiles if t.kind == SLOT_IMAGE]

    def currentChanged(
        self,
        current: QModelIndex | QPersistentModelIndex,
        previous: QModelIndex | QPersistentModelIndex,
    ) -> None:
        super().currentChanged(current, previous)
        if current.isValid():
            tile = self.grid_model.tile(self.grid_model.slot(current))
            if tile.kind == SLOT_IMAGE:
                self.current_row_changed.emit(tile.row)

    def moveCursor(self, cursorAction: Action, modifiers: Qt.KeyboardModifier) -> QModelIndex:
        """Arrow keys walk the tiles in grid order (wrapping rows) and skip headers and fillers."""
        model = self.grid_model
        if cursorAction not in STEPS or not self.currentIndex().isValid():
            return super().moveCursor(cursorAction, modifiers)
        step = STEPS[cursorAction] or model.columns
        step = -step if cursorAction == Action.MoveUp else step
        slot = model.slot(self.currentIndex()) + step
        while 0 <= slot < model.slot_count and model.layout_ref.kind[slot] != SLOT_IMAGE:
            slot += 1 if step > 0 else -1
        if 0 <= slot < model.slot_count:
            return model.index_of_slot(slot)
        return self.currentIndex()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Letters are voting shortcuts: no type-ahead search in the grid.
        if event.text() and event.text().isprintable() and not event.modifiers():
            event.ignore()
            return
        super().keyPressEvent(event)

    # -- thumbnails -----------------------------------------------------------------------------
    def visible_slot_range(self, extra_screens: float = 0.0) -> tuple[int, int]:
        """[first, last) slots on screen, widened by ``extra_screens`` above and below."""
        model = self.grid_model
        rows = model.rowCount()
        if rows == 0:
            return 0, 0
        first_row = max(0, self.rowAt(0))
        last_row = self.rowAt(self.viewport().height() - 1)
        last_row = rows - 1 if last_row < 0 else last_row
        extra = math.ceil((last_row - first_row + 1) * extra_screens)
        first_row, last_row = max(0, first_row - extra), min(rows - 1, last_row + extra)
        return first_row * model.columns, (last_row + 1) * model.columns

    def _image_items(self, first: int, last: int) -> list[tuple[int, str]]:
        model = self.grid_model
        data, view = model.data_ref, model.view
        if data is None or view is None or first >= last:
            return []
        layout = model.layout_ref
        kinds = layout.kind[first:last]
        rows = view.rows[layout.ref[first:last][kinds == SLOT_IMAGE]]
        return [(int(data.image_ids[r]), data.path(int(r))) for r in rows]

    def schedule_request(self) -> None:
        self._request_timer.start()

    def _on_scrolled(self) -> None:
        self._last_scroll = time.monotonic()
        if not self._settle_timer.isActive():
            self._settle_timer.start()

    def _on_settle(self) -> None:
        if time.monotonic() - self._last_scroll >= SETTLE_MS / 1000 * 0.9:
            self.request_visible()
        else:
            self._settle_timer.start()

    def request_visible(self) -> None:
        first, last = self.visible_slot_range()
        visible = self._image_items(first, last)
        wide_first, wide_last = self.visible_slot_range(extra_screens=1.0)
        around = self._image_items(wide_first, first) + self._image_items(last, wide_last)
        self.loader.request(visible, around)
        if self.visible_done():
            self.visible_loaded.emit()

    def visible_done(self) -> bool:
        first, last = self.visible_slot_range()
        return all(self.loader.is_done(i) for i, _ in self._image_items(first, last))

    def _on_thumbs_ready(self, image_ids: list[int]) -> None:
        self.viewport().update()
        if self.visible_done():
            self.visible_loaded.emit()

    def sizeHint(self) -> QSize:
        return QSize(900, 700)

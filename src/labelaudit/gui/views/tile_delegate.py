"""Paints one slot of the grid: an image tile, a slice of a class header, or nothing.

It reads one role (``TILE_ROLE``) per paint and everything else from the model's arrays and the
thumbnail loader's pixmap cache, so a repaint costs no item-data traffic (architecture.md §7).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from labelaudit.core.views import BROKEN_BIT, DROP_VOTE, NO_VOTE, SLOT_HEADER, SLOT_IMAGE
from labelaudit.gui.legend import ISSUE_MARKS
from labelaudit.gui.models.grid_model import TILE_ROLE, GridModel, Tile, bucket_name
from labelaudit.gui.style import FLAG_COLOR, SPLIT_COLOR, STATE_LOOK, SUGGEST_COLOR, class_color
from labelaudit.gui.workers.thumbs import ThumbLoader

PAD = 4
CAPTION = 18
HEADER_HEIGHT = 58  # a class header row is lower than a row of tiles
FOCUS_WIDTH = 2


def focus_color(palette: QPalette) -> QColor:
    """The frame around the tile with keyboard focus."""
    return palette.highlight().color().darker(130)


# Reason codes for thumbnails that failed (the loader's text starts with the exception's type).
FAILURE_CODES = (
    ("file not found", "missing"),
    ("database:", "database error"),
    ("UnidentifiedImageError", "not an image"),
    ("truncated", "truncated"),
    ("DecompressionBombError", "too large"),
    ("PermissionError", "no permission"),
)


def failure_code(text: str) -> str:
    """A tile-sized reason for a thumbnail that failed: "missing", "not an image", …"""
    for needle, code in FAILURE_CODES:
        if needle.lower() in text.lower():
            return code
    return "unreadable"


def cell_size(tile: int) -> QSize:
    return QSize(tile + 2 * PAD, tile + 2 * PAD + CAPTION)


class TileDelegate(QStyledItemDelegate):
    def __init__(self, loader: ThumbLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.tile_size = 112
        self.header_font = QFont()
        self.header_font.setPointSizeF(self.header_font.pointSizeF() * 1.5)
        self.header_font.setBold(True)

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return cell_size(self.tile_size)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        tile: Tile | None = index.data(TILE_ROLE)
        model = index.model()
        if tile is None or not isinstance(model, GridModel) or model.data_ref is None:
            return
        painter.save()
        try:
            if tile.kind == SLOT_IMAGE:
                self._paint_image(painter, option, model, tile)
            elif tile.kind == SLOT_HEADER:
                self._paint_header(painter, option, model, tile)
        finally:
            painter.restore()

    # -- image tiles ----------------------------------------------------------------------------
    def _paint_image(
        self, painter: QPainter, option: QStyleOptionViewItem, model: GridModel, tile: Tile
    ) -> None:
        data = model.data_ref
        assert data is not None
        rect: QRect = option.rect
        state = option.state
        palette: QPalette = option.palette
        row = tile.row
        if state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect.adjusted(1, 1, -1, -1), palette.highlight())
        image_rect = QRect(rect.x() + PAD, rect.y() + PAD, self.tile_size, self.tile_size)
        self._paint_thumb(painter, image_rect, int(data.image_ids[row]), palette)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if data.flagged[row] or data.issue_flags[row]:
            self._paint_flag(
                painter, image_rect, int(data.issue_flags[row]), bool(data.flagged[row])
            )
        shown = int(model.shown[row]) if row < model.shown.shape[0] else 0
        if shown in STATE_LOOK:
            self._paint_state(painter, image_rect, shown)
        mine = int(data.my_vote[row])
        if mine != NO_VOTE:
            text = data.class_names[mine] if mine >= 0 else ("drop" if mine == DROP_VOTE else "?")
            self._pill(painter, image_rect.bottomLeft(), f"me: {text}", QColor(0, 0, 0, 170))
        self._paint_caption(painter, rect, model, row, palette, state)
        if state & QStyle.StateFlag.State_HasFocus:
            self._paint_focus(painter, rect, palette)

    def _paint_focus(self, painter: QPainter, rect: QRect, palette: QPalette) -> None:
        """A 2 px frame around the cell, outside the image. No brush: the badges leave theirs
        set, and a filled rectangle would cover the very image being reviewed."""
        pen = QPen(focus_color(palette), FOCUS_WIDTH)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(rect).adjusted(1, 1, -1, -1))

    def _paint_thumb(
        self, painter: QPainter, rect: QRect, image_id: int, palette: QPalette
    ) -> None:
        pixmap = self.loader.pixmap(image_id)
        if pixmap is None:
            painter.fillRect(rect, palette.alternateBase())
            failure = self.loader.failure(image_id)
            if failure:  # a short reason code; the detail pane has the full text
                painter.setPen(FLAG_COLOR)
                metrics = painter.fontMetrics()
                code = metrics.elidedText(
                    failure_code(failure), Qt.TextElideMode.ElideRight, rect.width() - 8
                )
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"broken file\n{code}")
            return
        size = pixmap.size()
        if size.width() > rect.width() or size.height() > rect.height():
            size = size.scaled(rect.size(), Qt.AspectRatioMode.KeepAspectRatio)  # until reloaded
        x = rect.x() + (rect.width() - size.width()) // 2
        y = rect.y() + (rect.height() - size.height()) // 2
        # The loader scaled the pixmap to the tile: usually a plain copy, no resampling here.
        painter.drawPixmap(QRect(x, y, size.width(), size.height()), pixmap)

    def _paint_flag(self, painter: QPainter, rect: QRect, flags: int, flagged: bool) -> None:
        marks = "".join(mark for bit, mark in ISSUE_MARKS if flags & bit) or "!"
        color = FLAG_COLOR if flagged or flags & BROKEN_BIT else QColor("#9a6b00")
        self._pill(painter, rect.topLeft(), marks, color, top=True)

    def _paint_state(self, painter: QPainter, rect: QRect, shown: int) -> None:
        color, mark, _ = STATE_LOOK[shown]
        width = max(18, painter.fontMetrics().horizontalAdvance(mark) + 8)
        badge = QRect(rect.right() - width + 1, rect.y(), width, 18)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(color))
        painter.drawRoundedRect(badge, 8, 8)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, mark)

    def _pill(
        self, painter: QPainter, corner: QPoint, text: str, color: QColor, *, top: bool = False
    ) -> None:
        metrics = painter.fontMetrics()
        width = min(metrics.horizontalAdvance(text) + 8, self.tile_size)
        height = metrics.height() + 2
        y = corner.y() if top else corner.y() - height + 1
        pill = QRect(corner.x(), y, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(pill, 4, 4)
        painter.setPen(QColor("white"))
        elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, width - 6)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, elided)

    def _paint_caption(
        self,
        painter: QPainter,
        rect: QRect,
        model: GridModel,
        row: int,
        palette: QPalette,
        state: QStyle.StateFlag,
    ) -> None:
        data = model.data_ref
        assert data is not None
        caption = QRect(rect.x() + PAD, rect.bottom() - CAPTION - PAD + 2, self.tile_size, CAPTION)
        split = model.split_text(row)
        if split:  # right of the caption, below the image: it never covers what is reviewed
            caption.setRight(caption.right() - self._paint_split(painter, caption, split) - 3)
        suggested, label = int(data.suggested[row]), int(data.labels[row])
        if suggested >= 0 and suggested != label and model.suggestion_visible(row):
            painter.setPen(SUGGEST_COLOR)
            text = f"→ {data.class_names[suggested]}"
        elif split and suggested >= 0 and model.suggestion_visible(row):
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            text = f"✓ {data.class_names[suggested]}"  # the model agrees with the given label
        else:
            selected = state & QStyle.StateFlag.State_Selected
            role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
            painter.setPen(palette.color(role))
            text = data.path(row).rsplit("/", 1)[-1]
        elided = painter.fontMetrics().elidedText(
            text, Qt.TextElideMode.ElideMiddle, caption.width()
        )
        painter.drawText(caption, Qt.AlignmentFlag.AlignCenter, elided)

    def _paint_split(self, painter: QPainter, caption: QRect, text: str) -> int:
        """The vote split ("2–1") as a pill at the caption's right end; returns its width."""
        metrics = painter.fontMetrics()
        width = min(metrics.horizontalAdvance(text) + 8, caption.width() // 2)
        pill = QRect(caption.right() - width + 1, caption.y() + 1, width, caption.height() - 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(SPLIT_COLOR)
        painter.drawRoundedRect(pill, 4, 4)
        painter.setPen(QColor("white"))
        elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, width - 4)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, elided)
        return width

    # -- class headers --------------------------------------------------------------------------
    def _paint_header(
        self, painter: QPainter, option: QStyleOptionViewItem, model: GridModel, tile: Tile
    ) -> None:
        """Each header slot paints its own slice of one ribbon spanning the whole grid row."""
        data, stats = model.data_ref, model.stats
        assert data is not None
        rect: QRect = option.rect
        palette: QPalette = option.palette
        bucket = tile.row
        row_x = rect.x() - tile.column * rect.width()
        ribbon = QRect(row_x, rect.y() + 6, rect.width() * model.columns, rect.height() - 10)
        painter.setClipRect(rect)
        painter.fillRect(ribbon, class_color(bucket, alpha=60))
        painter.fillRect(QRect(ribbon.x(), ribbon.y(), 6, ribbon.height()), class_color(bucket))
        # Header slots are disabled items: take the active text colour, not the greyed one.
        painter.setPen(palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText))
        painter.setFont(self.header_font)
        text_rect = ribbon.adjusted(16, 2, -8, -ribbon.height() // 2)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter, bucket_name(data, bucket))
        if stats is not None and model.view is not None:
            shown = int(model.view.class_offsets[bucket + 1] - model.view.class_offsets[bucket])
            total, flagged = int(stats.count[bucket]), int(stats.flagged[bucket])
            line = f"{shown:,} shown of {total:,} · {flagged:,} flagged"
            line += f" · {int(stats.reviewed[bucket]):,} settled"
            painter.setFont(QFont())
            below = ribbon.adjusted(16, ribbon.height() // 2, -8, -2)
            painter.drawText(below, Qt.AlignmentFlag.AlignVCenter, line)

"""Colours and small drawing helpers shared by the painted widgets."""

from __future__ import annotations

from PySide6.QtGui import QColor

from labelaudit.core.views import SHOWN

# What each vote state looks like on a tile: (colour, short mark, words).
STATE_LOOK: dict[int, tuple[str, str, str]] = {
    SHOWN["needs my vote"]: ("#e8890c", "●", "needs my vote"),
    SHOWN["voted"]: ("#2f7ed8", "✓", "voted, waiting for others"),
    SHOWN["agreed"]: ("#2e9d4f", "✓✓", "agreed"),
    SHOWN["needs lead"]: ("#8e44ad", "?", "needs the lead"),
    SHOWN["resolved"]: ("#1e7b3c", "★", "resolved by the lead"),
    SHOWN["dropped"]: ("#c0392b", "✕", "dropped"),
    SHOWN["closed"]: ("#7f8c8d", "–", "settled by others"),
    SHOWN["broken"]: ("#c0392b", "!", "broken file"),
    SHOWN["stale"]: ("#d35400", "⟳", "file changed: votes stale"),
}
FLAG_COLOR = QColor("#d62d20")
SUGGEST_COLOR = QColor("#d9730d")
SPLIT_COLOR = QColor("#5b4a8a")  # the vote split pill ("2–1") under a tile


def class_color(bucket: int, *, alpha: int = 255) -> QColor:
    """A stable, distinct hue per class (golden-ratio steps around the colour wheel)."""
    hue = (bucket * 0.618033988749895) % 1.0
    color = QColor.fromHsvF(hue, 0.55, 0.85)
    color.setAlpha(alpha)
    return color


def heat_color(fraction: float) -> QColor:
    """White to deep blue for 0..1."""
    f = min(max(fraction, 0.0), 1.0)
    return QColor.fromRgbF(1.0 - 0.85 * f, 1.0 - 0.6 * f, 1.0 - 0.15 * f)

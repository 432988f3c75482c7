"""The app's icon, loaded from the package's resources (labelaudit/resources/__init__.py)."""

from __future__ import annotations

from PySide6.QtGui import QIcon, QPixmap

from labelaudit.resources import ICON_SIZES, icon_png, resource


def app_icon() -> QIcon:
    """The window and task-bar icon, one pixmap per rendered size so that Qt never scales a
    small one up. Read as bytes: this works from a wheel, an editable install or a zip."""
    icon = QIcon()
    for size in ICON_SIZES:
        pixmap = QPixmap()
        if pixmap.loadFromData(resource(icon_png(size)).read_bytes(), "PNG"):
            icon.addPixmap(pixmap)
    return icon

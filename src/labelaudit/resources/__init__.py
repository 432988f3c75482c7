"""The app's desktop resources: its icon (SVG and PNGs), desktop entry and AppStream metadata.

These files are the single copy: they live inside the package so that the wheel carries them and
``importlib.resources`` finds them however labelaudit is installed (wheel, editable, zip). The
top-level ``resources/`` folder of the repository points here (resources/README.md). Qt-free: the
CLI installs these files for the desktop (``labelaudit install-desktop``) and the app loads its
window icon from them (gui/app_icon.py).
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

# The reverse-DNS id that AppStream asks for; it names the desktop entry and metainfo files, and
# the app reports it to the desktop (Wayland's app id) so that its windows match the entry.
APP_ID = "io.github.labelaudit.labelaudit"
ICON_NAME = "labelaudit"
# The sizes desktops look up in the hicolor theme (freedesktop icon theme spec).
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

ICON_SVG = f"{ICON_NAME}.svg"
DESKTOP_ENTRY = f"{APP_ID}.desktop"
METAINFO = f"{APP_ID}.metainfo.xml"


def icon_png(size: int) -> str:
    """The file name of the icon rendered at ``size`` pixels."""
    return f"{ICON_NAME}-{size}.png"


def resource_names() -> list[str]:
    """Every resource file the package ships, by name."""
    return [ICON_SVG, *(icon_png(size) for size in ICON_SIZES), DESKTOP_ENTRY, METAINFO]


def resource(name: str) -> Traversable:
    """One shipped resource; read it with ``.read_bytes()`` (works from a zip too)."""
    return resources.files(__name__).joinpath(name)

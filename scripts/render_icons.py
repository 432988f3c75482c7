"""Render the app icon's PNGs from its SVG: src/labelaudit/resources/labelaudit.svg.

Run it after changing the SVG and commit the PNGs it writes beside it:

    python scripts/render_icons.py

It uses librsvg's ``rsvg-convert`` (the renderer GNOME and most Linux desktops use for SVG icons;
Debian/Ubuntu: ``apt-get install librsvg2-bin``) and falls back to Qt's QSvgRenderer when it is
missing. tests/test_desktop.py checks that the committed PNGs still match the SVG.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from labelaudit.resources import ICON_SIZES, ICON_SVG, icon_png  # noqa: E402

FOLDER = ROOT / "src" / "labelaudit" / "resources"


def render_rsvg(svg: Path, size: int, target: Path) -> None:
    subprocess.run(
        ["rsvg-convert", "-w", str(size), "-h", str(size), str(svg), "-o", str(target)],
        check=True,
    )


def render_qt(svg: Path, size: int, target: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["render_icons"])
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    if not image.save(str(target)):
        raise SystemExit(f"cannot write {target}")


def main() -> int:
    svg = FOLDER / ICON_SVG
    render = render_rsvg if shutil.which("rsvg-convert") else render_qt
    if render is render_qt:
        print("rsvg-convert not found: rendering with Qt's QSvgRenderer", file=sys.stderr)
    for size in ICON_SIZES:
        target = FOLDER / icon_png(size)
        render(svg, size, target)
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Decoding images into QImage off the GUI thread.

Thumbnails decode with Qt's image readers first: one C++ call that releases the GIL (so the GUI
thread keeps painting while workers decode) and, for JPEG, libjpeg's DCT scaling, the same trick
as Pillow's draft mode. Anything Qt cannot read goes through Pillow (``core.thumbs``). The disk
cache is the core's: same paths, same size, written atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image, ImageOps
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QImageReader, QPainter

from labelaudit.core.thumbs import THUMB_QUALITY, THUMB_SIZE, load_thumb, thumb_path


def qimage_from_pil(image: Image.Image) -> QImage:
    """A QImage that owns its pixels (the Pillow buffer dies with ``image``)."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    data = image.tobytes("raw", "RGB")
    width, height = image.size
    return QImage(data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def _read_small(path: Path, side: int) -> tuple[QImage, bool]:
    """(image no larger than ``side``, whether the original was larger); null on failure."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)  # EXIF orientation
    size = reader.size()
    larger = size.isValid() and max(size.width(), size.height()) > side
    if larger:
        reader.setScaledSize(size.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return image, larger
    if image.hasAlphaChannel():  # flatten on white, as the core's thumbnails do
        flat = QImage(image.size(), QImage.Format.Format_RGB32)
        flat.fill(Qt.GlobalColor.white)
        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        image = flat
    return image, larger


def _save_cached(image: QImage, target: Path) -> None:
    """Write atomically: a reader never sees half a JPEG."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
    os.close(fd)
    try:
        # PySide6's stub wants bytes for the format, which the binding itself refuses
        if image.save(tmp, "JPG", THUMB_QUALITY):  # type: ignore[call-overload]
            os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def thumb_qimage(image_path: Path, sha256: str | None, cache_dir: Path) -> QImage:
    """A thumbnail (longest side THUMB_SIZE) from the disk cache, else decoded small and cached.

    Raises OSError (FileNotFoundError for a missing file) when the image cannot be read.
    """
    cached = thumb_path(cache_dir, sha256) if sha256 else None
    if cached is not None and cached.exists():
        image = QImageReader(str(cached)).read()
        if not image.isNull():
            return image
        cached.unlink(missing_ok=True)  # a damaged cache entry is remade
    if not image_path.exists():
        raise FileNotFoundError(2, "file not found", str(image_path))
    image, larger = _read_small(image_path, THUMB_SIZE)
    if image.isNull():
        return qimage_from_pil(load_thumb(image_path, sha256, cache_dir))
    if cached is not None and larger:  # small images are their own thumbnails
        _save_cached(image, cached)
    return image


def full_qimage(image_path: Path, *, max_side: int = 4096) -> QImage:
    """The image for the detail view, oriented, decoded small when it is very large."""
    image, _ = _read_small(image_path, max_side)
    if not image.isNull():
        return image
    with Image.open(image_path) as im:
        if im.format == "JPEG":
            im.draft("RGB", (max_side, max_side))
        im.load()
        oriented = ImageOps.exif_transpose(im)
        if max(oriented.size) > max_side:
            oriented.thumbnail((max_side, max_side))
        if oriented.mode not in ("RGB", "L"):
            rgba = oriented.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.split()[3])
            oriented = background
        return qimage_from_pil(oriented)

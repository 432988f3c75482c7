"""Thumbnails inline in the report: from the project's thumbnail cache, else made from the image
(``core.thumbs``), shrunk and encoded as a ``data:`` URI (PNG or JPEG, whichever is smaller)."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from io import BytesIO
from pathlib import Path

from PIL import Image

from labelaudit.core.paths import disk_path
from labelaudit.core.report.model import ImageRef
from labelaudit.core.thumbs import load_thumb

SHOWN_PX = 96  # longest side stored; the page shows them at 72 CSS px (sharp on HiDPI screens)
JPEG_QUALITY = 80


def data_uri(image: Image.Image) -> str:
    """The smaller of a PNG and a JPEG encoding, as a data URI."""
    encoded = []
    for fmt, mime, options in (
        ("PNG", "image/png", {"optimize": True}),
        ("JPEG", "image/jpeg", {"quality": JPEG_QUALITY}),
    ):
        buf = BytesIO()
        image.save(buf, fmt, **options)
        encoded.append((len(buf.getvalue()), mime, buf.getvalue()))
    _, mime, data = min(encoded)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def thumbnail_uri(ref: ImageRef, *, image_root: Path, cache_dir: Path) -> str:
    """The image's thumbnail as a data URI, or "" when it cannot be read (moved, broken)."""
    try:
        thumb = load_thumb(disk_path(image_root, ref.path), ref.sha256, cache_dir)
    except (OSError, ValueError, Image.DecompressionBombError):
        return ""
    if thumb.mode != "RGB":
        thumb = thumb.convert("RGB")
    if max(thumb.size) > SHOWN_PX:
        thumb.thumbnail((SHOWN_PX, SHOWN_PX), Image.Resampling.LANCZOS)
    return data_uri(thumb)


def thumbnail_uris(
    refs: Iterable[ImageRef], *, image_root: Path, cache_dir: Path
) -> dict[int, str]:
    """{image id: data URI} for every distinct image in ``refs``."""
    out: dict[int, str] = {}
    for ref in refs:
        if ref.image_id not in out:
            out[ref.image_id] = thumbnail_uri(ref, image_root=image_root, cache_dir=cache_dir)
    return out

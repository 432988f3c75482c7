"""On-disk thumbnail cache (Pillow, no Qt), keyed by content hash and size.

A thumbnail is stored only when the image is larger than the thumbnail: small images (CIFAR's
32x32, say) are their own thumbnails, which saves 100,000 file writes on a small-image import.
The same decode that validates an image at import makes its thumbnail.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

THUMB_SIZE = 192  # px, longest side; the grid scales down from it
THUMB_QUALITY = 85


def thumb_path(cache_dir: Path, sha256: str, size: int = THUMB_SIZE) -> Path:
    return cache_dir / str(size) / sha256[:2] / f"{sha256}.jpg"


def needs_thumb(width: int, height: int, size: int = THUMB_SIZE) -> bool:
    return max(width, height) > size


def _draft_for(image: Image.Image, size: int) -> None:
    if image.format == "JPEG":
        # libjpeg decodes at 1/2..1/8 scale: the cheapest way to a thumbnail of a large photo.
        image.draft("RGB", (size, size))


def make_thumb(image: Image.Image, size: int = THUMB_SIZE) -> Image.Image:
    """An RGB thumbnail of an already oriented image, longest side ``size``."""
    thumb = image.copy() if image.mode in ("RGB", "L") else image.convert("RGBA")
    thumb.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    if thumb.mode == "RGBA":
        background = Image.new("RGB", thumb.size, (255, 255, 255))
        background.paste(thumb, mask=thumb.split()[3])
        thumb = background
    elif thumb.mode != "RGB":
        thumb = thumb.convert("RGB")
    return thumb


def save_thumb(thumb: Image.Image, path: Path) -> None:
    """Write atomically: a reader never sees half a JPEG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as fh:
            thumb.save(fh, "JPEG", quality=THUMB_QUALITY)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_thumb(
    image_path: Path, sha256: str | None, cache_dir: Path, size: int = THUMB_SIZE
) -> Image.Image:
    """The thumbnail of one image: from the cache, else decoded small and cached.

    Raises OSError (or Pillow's errors) when the image cannot be read; callers show a placeholder.
    """
    if sha256:
        cached = thumb_path(cache_dir, sha256, size)
        if cached.exists():
            try:
                with Image.open(cached) as im:
                    im.load()
                    return im.copy()
            except OSError:
                cached.unlink(missing_ok=True)  # a damaged cache entry is remade
    with Image.open(image_path) as im:
        _draft_for(im, size)
        im.load()
        oriented = ImageOps.exif_transpose(im)
        thumb = make_thumb(oriented, size)
    if sha256 and needs_thumb(*oriented.size, size=size):
        save_thumb(thumb, thumb_path(cache_dir, sha256, size))
    return thumb

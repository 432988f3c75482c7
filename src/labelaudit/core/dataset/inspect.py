"""Read, hash and fully decode one file: the per-image work of an import (runs in worker processes).

Every file is decoded once, completely: a header check or ``Image.verify()`` misses a truncated
JPEG. ``draft()`` makes that decode cheap for large JPEGs, and the same decode yields the thumbnail.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from labelaudit.core import thumbs
from labelaudit.core.errors import InputError

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's default MAX_IMAGE_PIXELS
_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class FileFacts:
    """What an import learns about one file. ``problem`` is None for a valid image."""

    size: int
    mtime_ns: int
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    mode: str | None = None
    format: str | None = None
    problem: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class InspectOptions:
    thumb_dir: Path | None
    thumb_size: int = thumbs.THUMB_SIZE
    max_pixels: int = DEFAULT_MAX_PIXELS  # 0: no limit


def check_options(*, workers: int | None, max_pixels: int | None) -> None:
    """Refuse import options that make no sense, before anything is written."""
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be 1 or more, got {workers}")
    if max_pixels is not None and max_pixels < 0:
        raise InputError(f"--max-pixels must be 0 (no limit) or more, got {max_pixels}")


@contextlib.contextmanager
def own_pixel_limit() -> Iterator[None]:
    """Turn off Pillow's global bomb check (a warning above MAX_IMAGE_PIXELS, an error above twice
    that), which would override ``--max-pixels``; ``_decode`` applies the one limit itself."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def inspect_file(path: str, options: InspectOptions) -> FileFacts:
    try:
        st = os.stat(path)
    except OSError as exc:
        return FileFacts(0, 0, problem="unreadable", detail=exc.strerror)
    if st.st_size == 0:
        return FileFacts(0, st.st_mtime_ns, problem="empty_file")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return FileFacts(st.st_size, st.st_mtime_ns, problem="unreadable", detail=exc.strerror)
    sha = hashlib.sha256(data).hexdigest()
    with own_pixel_limit():
        return _decode(data, sha, st.st_size, st.st_mtime_ns, options)


def _decode(data: bytes, sha: str, size: int, mtime_ns: int, options: InspectOptions) -> FileFacts:
    def broken(reason: str, detail: str | None = None) -> FileFacts:
        return FileFacts(size, mtime_ns, sha, problem=reason, detail=detail)

    try:
        im = Image.open(BytesIO(data))  # reads the header only: the size is known, nothing decoded
    except UnidentifiedImageError:
        return broken("not_an_image")
    except (OSError, ValueError, SyntaxError) as exc:
        return broken("truncated", _short(exc))
    with im:
        width, height = im.size
        fmt, mode = im.format, im.mode
        if options.max_pixels > 0 and width * height > options.max_pixels:
            return broken("too_large", f"{width}x{height} pixels")
        try:
            if fmt == "JPEG":
                im.draft("RGB", (options.thumb_size, options.thumb_size))
            im.load()
            orientation = im.getexif().get(_ORIENTATION_TAG, 1)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            return broken("truncated", _short(exc))
        except Image.DecompressionBombError as exc:
            return broken("too_large", _short(exc))
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        if options.thumb_dir is not None and thumbs.needs_thumb(width, height, options.thumb_size):
            _write_thumb(im, sha, options)
    return FileFacts(size, mtime_ns, sha, width, height, mode, fmt)


def _write_thumb(im: Image.Image, sha: str, options: InspectOptions) -> None:
    assert options.thumb_dir is not None
    target = thumbs.thumb_path(options.thumb_dir, sha, options.thumb_size)
    if target.exists():
        return
    try:
        oriented = ImageOps.exif_transpose(im)
        thumbs.save_thumb(thumbs.make_thumb(oriented, options.thumb_size), target)
    except (OSError, ValueError):
        pass  # the cache is an optimisation; the app remakes a missing thumbnail


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]

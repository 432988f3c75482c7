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

import numpy as np
from PIL import Image, UnidentifiedImageError

from labelaudit.core import thumbs
from labelaudit.core.errors import InputError

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's default MAX_IMAGE_PIXELS
# Brightness and sharpness are measured on a grayscale copy at most this long, so that the
# sharpness of a 4000 px photo and of a 200 px one are comparable.
PROPERTY_SIDE = 128
# Contrast floor (pixel variance, 0..1 scale) of the sharpness ratio: a flat image reads as blurry.
_CONTRAST_FLOOR = 2e-4
_ORIENTATION_TAG = 0x0112
# EXIF orientation -> the turn that makes the image upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


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
    brightness: float | None = None  # mean grey level, 0 (black) .. 1 (white)
    sharpness: float | None = None  # see image_properties


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
    except MemoryError:
        return FileFacts(st.st_size, st.st_mtime_ns, problem="out_of_memory", detail="reading it")
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
            if fmt == "JPEG":  # decode at 1/2..1/8 scale: enough for the thumbnail and measures
                im.draft("RGB", (options.thumb_size, options.thumb_size))
            im.load()
            orientation = im.getexif().get(_ORIENTATION_TAG, 1)
            if orientation in (5, 6, 7, 8):
                width, height = height, width
            small = None
            if thumbs.needs_thumb(width, height, options.thumb_size):
                small = thumbs.make_thumb(im, options.thumb_size)
                if options.thumb_dir is not None:
                    _write_thumb(small, sha, options, orientation)
            # Measured on the thumbnail when there is one: a second resize of the whole image
            # was a sixth of an import's time on photos.
            measured = small if small is not None and options.thumb_size >= PROPERTY_SIDE else im
            brightness, sharpness = image_properties(measured)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            return broken("truncated", _short(exc))
        except Image.DecompressionBombError as exc:
            return broken("too_large", _short(exc))
        except MemoryError:  # this file's problem, not the import's (under a memory limit)
            return broken("out_of_memory", f"{width}x{height} pixels, {mode}")
    return FileFacts(
        size, mtime_ns, sha, width, height, mode, fmt, brightness=brightness, sharpness=sharpness
    )


def image_properties(im: Image.Image) -> tuple[float | None, float | None]:
    """(brightness, sharpness) of a decoded image, from a grayscale copy at most PROPERTY_SIDE long.

    brightness: mean grey level in 0..1. sharpness: variance of the 4-neighbour Laplacian divided
    by the grey-level variance (at least _CONTRAST_FLOOR): the share of the image's contrast in
    fine detail, so a dark or low-contrast but sharp image is not called blurry. (None, None) when
    the image cannot be measured.
    """
    try:
        grey = np.asarray(_small_gray(im), dtype=np.float64)  # 0..255
    except (OSError, ValueError):
        return None, None
    if grey.ndim != 2 or grey.size == 0:
        return None, None
    # Sums instead of mean()/var(): an import measures every image, and on small ones numpy's
    # per-call overhead is most of the cost. einsum, not np.dot: np.dot hands even these short
    # vectors to OpenBLAS's threads, which on a busy machine (or with one import process per
    # core) made this function take 30-60 ms per image instead of well under 1 ms.
    flat = grey.ravel()
    mean = float(flat.sum()) / flat.size
    brightness = mean / 255.0
    if min(grey.shape) < 3:
        return brightness, None
    laplacian = grey[1:-1, :-2] + grey[1:-1, 2:]
    laplacian += grey[:-2, 1:-1]
    laplacian += grey[2:, 1:-1]
    laplacian -= 4.0 * grey[1:-1, 1:-1]
    lap = laplacian.ravel()
    lap_mean = float(lap.sum()) / lap.size
    lap_var = float(np.einsum("i,i->", lap, lap)) / lap.size - lap_mean * lap_mean
    var = float(np.einsum("i,i->", flat, flat)) / flat.size - mean * mean
    scale = 255.0 * 255.0
    contrast = max(var / scale, _CONTRAST_FLOOR)
    return brightness, max(lap_var, 0.0) / scale / contrast


def _small_gray(im: Image.Image) -> Image.Image:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = thumbs.make_thumb(im, PROPERTY_SIDE)  # transparency over white, as the thumbnails
    elif im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    width, height = im.size
    scale = PROPERTY_SIDE / max(width, height)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        im = im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return im.convert("L")


def _write_thumb(thumb: Image.Image, sha: str, options: InspectOptions, orientation: int) -> None:
    """Cache the thumbnail, upright: made before turning, it is turned at 192 px, not in full."""
    assert options.thumb_dir is not None
    target = thumbs.thumb_path(options.thumb_dir, sha, options.thumb_size)
    if target.exists():
        return
    turn = _TRANSPOSE.get(orientation)
    # The cache is an optimisation: the app remakes a missing thumbnail.
    with contextlib.suppress(OSError, ValueError):
        thumbs.save_thumb(thumb.transpose(turn) if turn is not None else thumb, target)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]

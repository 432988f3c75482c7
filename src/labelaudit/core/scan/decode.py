"""Decode every image once into one uint8 array, in parallel, for training from memory.

Images are resized to a square ``size`` x ``size`` without cropping (a label audit must see the
whole image; a mild aspect change costs less than a cut-off object). JPEGs are decoded at reduced
scale with Pillow's ``draft``. Pillow releases the GIL while decoding and resizing, so threads use
every core without the cost (and fork hazards, once torch has started its thread pool) of processes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from labelaudit.core.errors import InputError
from labelaudit.core.progress import NullProgress, Progress
from labelaudit.core.scan.api import ScanResourceError

GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_CHUNK = 64  # images per task: large enough to amortise scheduling, small for smooth progress


def decode_images(
    paths: Sequence[Path],
    *,
    size: int,
    channels: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """uint8 (N, C, size, size): C = 1 when every image is grayscale (or ``channels=1``), else 3.

    Raises InputError naming the file when an image cannot be read any more, and
    ScanResourceError when the decoded images would not fit in memory.
    """
    progress = progress or NullProgress()
    n = len(paths)
    _check_fits_in_memory(n, size)
    out = np.zeros((n, 3, size, size), dtype=np.uint8)
    gray = np.zeros(n, dtype=bool)
    chunks = [range(i, min(i + _CHUNK, n)) for i in range(0, n, _CHUNK)]
    n_workers = max(1, workers or os.cpu_count() or 1)

    def run(chunk: range) -> int:
        for i in chunk:
            gray[i] = _decode_into(paths[i], out[i], size)
        return len(chunk)

    with progress.step("decode", n, unit="img"), ThreadPoolExecutor(n_workers) as pool:
        for done in pool.map(run, chunks):
            progress.advance(done)
    want = channels or (1 if n and gray.all() else 3)
    if want == 1:
        return np.ascontiguousarray(out[:, :1])
    out[gray, 1] = out[gray, 0]
    out[gray, 2] = out[gray, 0]
    return out


def _decode_into(path: Path, target: np.ndarray, size: int) -> bool:
    """Write one image into ``target`` (3, size, size); a gray image fills channel 0 only."""
    try:
        with Image.open(path) as im:
            if im.format == "JPEG":
                im.draft("L" if im.mode == "L" else "RGB", (size, size))
            im.load()
            oriented = ImageOps.exif_transpose(im)
            is_gray = oriented.mode in GRAY_MODES
            plain = _to_gray(oriented) if is_gray else _to_rgb(oriented)
            if plain.size != (size, size):
                plain = plain.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
            pixels = np.asarray(plain)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise InputError(
            f"cannot read {path}: {exc}; re-run `labelaudit import` to refresh the project"
        ) from exc
    if is_gray:
        target[0] = pixels
    else:
        target[:] = pixels.transpose(2, 0, 1)
    return is_gray


def _to_gray(im: Image.Image) -> Image.Image:
    if im.mode in ("L", "1"):
        return im.convert("L")
    if im.mode == "LA":
        return _on_white(im.convert("RGBA")).convert("L")
    # 16-bit and float grayscale: scale to 0..255 rather than clip
    values = np.asarray(im, dtype=np.float32)
    top = 65535.0 if im.mode.startswith("I") and values.max(initial=0) > 255 else 255.0
    return Image.fromarray(np.clip(values * (255.0 / top), 0, 255).astype(np.uint8), "L")


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "PA", "P", "La", "RGBa"):
        return _on_white(im.convert("RGBA"))
    return im.convert("RGB")


def _on_white(im: Image.Image) -> Image.Image:
    """Transparent pixels shown on white, as the thumbnails show them."""
    background = Image.new("RGB", im.size, (255, 255, 255))
    background.paste(im, mask=im.split()[3])
    return background


def _check_fits_in_memory(n: int, size: int) -> None:
    needed = n * 3 * size * size
    available = available_memory()
    if available is not None and needed > 0.7 * available:
        raise ScanResourceError(
            f"{n} images at {size}x{size} px need {needed / 2**30:.1f} GiB in memory but only "
            f"{available / 2**30:.1f} GiB are available: use a smaller --image-size"
        )


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux MemAvailable), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None

"""Whether a scan mirrors its training images: decided from the images when not given.

Mirroring (horizontal flips) helps photos of objects (CIFAR-10: 76.2% CV accuracy without it,
80.6% with it, docs/benchmarks.md) and hurts glyphs: a mirrored digit or letter is not one. A
cheap, explainable rule tells the two apart: photos are in colour, scanned digits, text and
symbols are grey. A sample of up to ``SAMPLE`` images is decoded small; an image counts as colour
when its pixels' channel spread (max - min over R, G, B) averages at least ``COLOUR_SPREAD``
levels of 255, and mirroring is on when at least half of the sample is in colour.
``--flip`` / ``--no-flip`` override the rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labelaudit.core.scan.api import ScanConfig
from labelaudit.core.scan.decode import decode_images

SAMPLE = 256  # images decoded for the decision (evenly spaced over the catalog order)
SAMPLE_SIZE = 32  # px: colour survives any downscaling
COLOUR_SPREAD = 12.0  # mean max-min over RGB, 0..255; JPEG chroma noise on grey stays below ~4
COLOUR_SHARE = 0.5  # share of colour images above which the project is "photos"


def colour_share(pixels: np.ndarray) -> float:
    """Share of colour images among uint8 images (n, C, H, W) (C = 1: all grey)."""
    if len(pixels) == 0 or pixels.shape[1] == 1:
        return 0.0
    spread = (pixels.max(axis=1).astype(np.int16) - pixels.min(axis=1)).mean(axis=(1, 2))
    return float(np.mean(spread >= COLOUR_SPREAD))


def sample_rows(n: int) -> np.ndarray:
    """Up to SAMPLE row indices, evenly spaced over 0..n-1."""
    return np.unique(np.linspace(0, max(n - 1, 0), min(n, SAMPLE)).round().astype(np.int64))


def decide(share: float, sampled: int) -> tuple[bool, str]:
    """(mirroring on?, why) from the share of colour images in a sample."""
    seen = f"{100 * share:.0f}% of {sampled} sampled images are in colour"
    if share >= COLOUR_SHARE:
        return True, f"mirroring on: {seen}, so photos (--no-flip turns it off)"
    return False, (
        f"mirroring off: {seen}; grey images such as digits, text or symbols change meaning "
        "when mirrored (--flip turns it on)"
    )


def decide_from_pixels(images: np.ndarray) -> tuple[bool, str]:
    """The rule on images already decoded (uint8 (N, C, H, W)): a sample of their rows."""
    picks = sample_rows(len(images))
    return decide(colour_share(images[picks]), len(picks))


def given(config: ScanConfig) -> str | None:
    """The reason line when ``--flip`` / ``--no-flip`` decided, else None."""
    if config.flip is None:
        return None
    return f"mirroring {'on (--flip)' if config.flip else 'off (--no-flip)'}"


def resolve_flip(
    config: ScanConfig, paths: Sequence[Path], *, workers: int | None = None
) -> tuple[ScanConfig, str]:
    """``config`` with ``flip`` decided (True/False) from a sample of the image files, and a
    one-line reason for the user."""
    reason = given(config)
    if reason is not None:
        return config, reason
    picks = sample_rows(len(paths))
    pixels = (
        decode_images([paths[i] for i in picks], size=SAMPLE_SIZE, workers=workers)
        if len(picks)
        else np.zeros((0, 1, SAMPLE_SIZE, SAMPLE_SIZE), dtype=np.uint8)
    )
    flip, why = decide(colour_share(pixels), len(picks))
    return dataclasses.replace(config, flip=flip), why

"""Image-property issues: dark, light (overexposed), blurry and odd-size images.

cleanvision's checks, done natively on what the import measured (no extra decode). Inputs, per
image (N,): ``brightness`` float32 (0..1, NaN unknown), ``sharpness`` float32 (NaN unknown; see
``dataset.inspect.image_properties``), ``width``/``height`` int (0 unknown). Thresholds are relative
to the dataset (robust quartile / median rules) and, for brightness, also absolute, so a set of
night photos is not all "dark". An unknown value never flags. These are not label issues: they
put an image into review only when the project's ``review_issue_types`` names them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelaudit.core.codes import Issue
from labelaudit.core.scan_summary import ImageQualitySummary

DARK_MAX = 0.1  # a dark image is below min(DARK_MAX, Q1 - IQR_FACTOR * IQR) of brightness
LIGHT_MIN = 0.9  # an overexposed one above max(LIGHT_MIN, Q3 + IQR_FACTOR * IQR)
IQR_FACTOR = 3.0
MAD_FACTOR = 3.0 * 1.4826  # 3 robust standard deviations of log-area
MIN_LOG_AREA_SPREAD = float(np.log(4.0))  # never "odd" within 4x of the median area
MAX_ASPECT = 4.0  # width / height above this, or below its inverse, is odd
MIN_BLUR_SIDE = 64  # px, longest side: smaller images have too little detail to judge blur
MIN_MEASURED = 8  # a dataset rule needs this many measured images
_SHARPNESS_FLOOR = 1e-6  # log of a perfectly flat image


@dataclass(frozen=True)
class ImageProperties:
    brightness: np.ndarray  # float32 (N,)
    sharpness: np.ndarray  # float32 (N,)
    width: np.ndarray  # int (N,)
    height: np.ndarray  # int (N,)


@dataclass(frozen=True)
class ImageQuality:
    flags: np.ndarray  # uint8 (N,), Issue.DARK | LIGHT | BLURRY | ODD_SIZE (core/codes.py)
    summary: ImageQualitySummary


def find_image_issues(props: ImageProperties) -> ImageQuality:
    n = props.brightness.shape[0]
    brightness = props.brightness.astype(np.float64)
    dark, dark_below = _dark(brightness)
    light, light_above = _light(brightness)
    blurry, blur_below = _blurry(props)
    odd_size, area_range = _odd_size(props.width, props.height)
    flags = np.zeros(n, dtype=np.uint8)
    for mask, bit in (
        (dark, Issue.DARK),
        (light, Issue.LIGHT),
        (blurry, Issue.BLURRY),
        (odd_size, Issue.ODD_SIZE),
    ):
        flags[mask] |= np.uint8(bit)
    summary: ImageQualitySummary = {
        "measured": int(np.isfinite(brightness).sum()),
        "dark": int(dark.sum()),
        "light": int(light.sum()),
        "blurry": int(blurry.sum()),
        "odd_size": int(odd_size.sum()),
        "thresholds": {
            "dark_below": dark_below,
            "light_above": light_above,
            "sharpness_below": blur_below,
            "area_range": area_range,
            "max_aspect": MAX_ASPECT,
        },
    }
    return ImageQuality(flags, summary)


def _quartiles(values: np.ndarray) -> tuple[float, float] | None:
    known = values[np.isfinite(values)]
    if known.size < MIN_MEASURED:
        return None
    q1, q3 = np.percentile(known, [25, 75])
    return float(q1), float(q3)


def _dark(brightness: np.ndarray) -> tuple[np.ndarray, float | None]:
    quartiles = _quartiles(brightness)
    if quartiles is None:
        return np.zeros(brightness.shape, dtype=bool), None
    q1, q3 = quartiles
    limit = min(DARK_MAX, q1 - IQR_FACTOR * (q3 - q1))
    return np.nan_to_num(brightness, nan=np.inf) < limit, round(limit, 4)


def _light(brightness: np.ndarray) -> tuple[np.ndarray, float | None]:
    quartiles = _quartiles(brightness)
    if quartiles is None:
        return np.zeros(brightness.shape, dtype=bool), None
    q1, q3 = quartiles
    limit = max(LIGHT_MIN, q3 + IQR_FACTOR * (q3 - q1))
    return np.nan_to_num(brightness, nan=-np.inf) > limit, round(limit, 4)


def _blurry(props: ImageProperties) -> tuple[np.ndarray, float | None]:
    """Low tail of log sharpness among images big enough to judge (none if all are tiny)."""
    big = np.maximum(props.width, props.height) >= MIN_BLUR_SIDE
    log_sharpness = np.log(np.maximum(props.sharpness.astype(np.float64), _SHARPNESS_FLOOR))
    log_sharpness[~big] = np.nan  # NaN sharpness stays NaN through maximum and log
    quartiles = _quartiles(log_sharpness)
    if quartiles is None:
        return np.zeros(big.shape, dtype=bool), None
    q1, q3 = quartiles
    limit = q1 - IQR_FACTOR * (q3 - q1)
    return np.nan_to_num(log_sharpness, nan=np.inf) < limit, round(float(np.exp(limit)), 6)


def _odd_size(width: np.ndarray, height: np.ndarray) -> tuple[np.ndarray, list[int] | None]:
    """Area far from the dataset's (log-area beyond median +- 3 robust sigma, at least 4x off)
    or an aspect ratio beyond 4:1 either way."""
    known = (width > 0) & (height > 0)
    w = width.astype(np.float64)
    h = height.astype(np.float64)
    aspect = np.divide(w, h, out=np.ones_like(w), where=known)
    odd = known & ((aspect > MAX_ASPECT) | (aspect < 1.0 / MAX_ASPECT))
    if known.sum() < MIN_MEASURED:
        return odd, None
    log_area = np.log(w[known] * h[known])
    median = float(np.median(log_area))
    spread = max(MAD_FACTOR * float(np.median(np.abs(log_area - median))), MIN_LOG_AREA_SPREAD)
    far = np.zeros(w.shape, dtype=bool)
    far[known] = np.abs(log_area - median) > spread
    area_range = [round(float(np.exp(median - spread))), round(float(np.exp(median + spread)))]
    return odd | far, area_range

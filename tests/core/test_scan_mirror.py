"""Mirroring decided from the images: colour photos on, grey digits off, options override."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labelaudit.core.dataset.demo import build_demo
from labelaudit.core.scan.api import ScanConfig
from labelaudit.core.scan.mirror import resolve_flip


def photo_tree(root: Path, n: int = 30) -> list[Path]:
    """Photo-like JPEGs: a coloured sky-to-ground gradient, a coloured blob, sensor noise."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:64].astype(np.float32)
    paths = []
    for i in range(n):
        top, bottom, blob = rng.uniform(0, 255, (3, 3))
        t = (yy / 47)[..., None]
        pixels = (1 - t) * top + t * bottom
        cy, cx = rng.uniform(10, 38), rng.uniform(10, 54)
        inside = ((yy - cy) ** 2 + (xx - cx) ** 2 < 80)[..., None]
        pixels = np.where(inside, blob, pixels) + rng.normal(0, 6, pixels.shape)
        path = root / f"{'cat' if i % 2 else 'dog'}" / f"{i:03d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=85)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The demo's digit images (grey PNGs), as ``labelaudit demo`` writes them."""
    demo = build_demo(tmp_path_factory.mktemp("demo"), n_broken=0)
    return sorted(demo.images.rglob("*.png"))


def test_colour_photos_are_mirrored_by_default(tmp_path: Path) -> None:
    config, why = resolve_flip(ScanConfig(), photo_tree(tmp_path), workers=1)
    assert config.flip is True
    assert why == "mirroring on: 100% of 30 sampled images are in colour, so photos " + (
        "(--no-flip turns it off)"
    )


def test_demo_digits_are_not_mirrored_even_when_saved_as_rgb_jpegs(
    tmp_path: Path, digits: list[Path]
) -> None:
    config, why = resolve_flip(ScanConfig(), digits, workers=1)
    assert config.flip is False
    assert why.startswith("mirroring off: 0% of 256 sampled images are in colour;")
    # grey content in an RGB file (with JPEG's chroma noise) is still grey
    as_rgb = []
    for i, path in enumerate(digits[:40]):
        out = tmp_path / "rgb" / f"{i:03d}.jpg"
        out.parent.mkdir(exist_ok=True)
        Image.open(path).convert("RGB").save(out, quality=75)
        as_rgb.append(out)
    assert resolve_flip(ScanConfig(), as_rgb, workers=1)[0].flip is False


def test_flip_and_no_flip_override_the_rule(tmp_path: Path, digits: list[Path]) -> None:
    photos = photo_tree(tmp_path / "photos", n=6)
    config, why = resolve_flip(ScanConfig(flip=False), photos)
    assert config.flip is False and why == "mirroring off (--no-flip)"
    config, why = resolve_flip(ScanConfig(flip=True), digits[:6])
    assert config.flip is True and why == "mirroring on (--flip)"
    # a decided config is left as it is (resolving twice is the same)
    decided, _ = resolve_flip(ScanConfig(), photos)
    assert resolve_flip(decided, photos)[0] == decided

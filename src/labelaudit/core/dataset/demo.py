"""The demo dataset: scikit-learn's handwritten digits with planted label errors.

1,797 real 8x8 scans (``sklearn.datasets.load_digits``) upscaled to 32x32 PNG, made imbalanced,
with a known fraction of labels moved to another class and a few broken files. The answer key
goes to ``DIR/truth.csv``, outside the image tree, so no import can see it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from labelaudit.core.errors import InputError

# Digit pairs that look alike: the "pairs" noise moves a label to its partner.
PAIRS = {0: 6, 6: 0, 1: 7, 7: 1, 2: 3, 3: 2, 4: 9, 9: 4, 5: 8, 8: 5}


@dataclass(frozen=True)
class DemoDataset:
    root: Path
    images: Path
    truth: Path
    n_images: int
    n_flipped: int
    n_broken: int
    class_counts: dict[str, int]


def load_digit_images(*, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 N x size x size, labels int64 N) from scikit-learn's digits."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    raw = (digits.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    images = np.stack(
        [
            np.asarray(Image.fromarray(im, "L").resize((size, size), Image.Resampling.BILINEAR))
            for im in raw
        ]
    )
    return images, digits.target.astype(np.int64)


def flip_labels(
    labels: np.ndarray, *, rate: float, kind: str, n_classes: int, rng: np.random.Generator
) -> np.ndarray:
    """Move ``round(rate * N)`` labels to another class (uniformly, or to the look-alike digit)."""
    noisy = labels.copy()
    n_flip = round(rate * len(labels))
    chosen = rng.choice(len(labels), size=n_flip, replace=False)
    for i in chosen:
        if kind == "pairs":
            noisy[i] = PAIRS[int(labels[i])] % n_classes
        else:
            offset = rng.integers(1, n_classes)
            noisy[i] = (labels[i] + offset) % n_classes
    return noisy


def imbalance_keep(labels: np.ndarray, *, ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Indices kept so that class sizes fall geometrically; largest / smallest ~= ratio."""
    classes = np.unique(labels)
    order = rng.permutation(classes)
    keep: list[np.ndarray] = []
    for rank, cls in enumerate(order):
        members = np.flatnonzero(labels == cls)
        share = ratio ** (-rank / max(len(classes) - 1, 1))
        n_keep = max(2, round(len(members) * share))
        keep.append(rng.choice(members, size=min(n_keep, len(members)), replace=False))
    return np.sort(np.concatenate(keep))


def check_demo_options(*, noise: float, noise_type: str, imbalance: float) -> None:
    """Refuse bad options before anything is written (or an old demo deleted)."""
    if not 0 <= noise < 1:
        raise InputError(f"--noise must be in [0, 1), got {noise}")
    if noise_type not in ("uniform", "pairs"):
        raise InputError(f"--noise-type must be uniform or pairs, got {noise_type!r}")
    if not imbalance >= 1:
        raise InputError(f"--imbalance is largest/smallest class size, >= 1; got {imbalance}")


def build_demo(
    out_dir: Path,
    *,
    seed: int = 0,
    noise: float = 0.1,
    noise_type: str = "uniform",
    imbalance: float = 4.0,
    n_broken: int = 3,
) -> DemoDataset:
    """Write the demo images to ``out_dir/images`` and the answer key to ``out_dir/truth.csv``."""
    check_demo_options(noise=noise, noise_type=noise_type, imbalance=imbalance)
    images_dir = out_dir / "images"
    if images_dir.exists() and any(images_dir.iterdir()):
        raise InputError(f"{images_dir} already exists and is not empty")
    rng = np.random.default_rng(seed)
    pixels, truth = load_digit_images()
    keep = imbalance_keep(truth, ratio=imbalance, rng=rng)
    pixels, truth = pixels[keep], truth[keep]
    given = flip_labels(truth, rate=noise, kind=noise_type, n_classes=10, rng=rng)
    images_dir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str]] = []
    odd = int(rng.integers(len(truth)))  # one file with spaces and non-ASCII in its name
    for i, (im, t, g) in enumerate(zip(pixels, truth, given, strict=True)):
        name = f"scan ü {i:05d}.png" if i == odd else f"{i:05d}.png"
        rel = f"{g}/{name}"
        (images_dir / str(g)).mkdir(exist_ok=True)
        Image.fromarray(im, "L").save(images_dir / rel)
        rows.append((rel, str(t), str(g)))
    _write_broken(images_dir, n_broken, rng)
    truth_path = out_dir / "truth.csv"
    with open(truth_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "true_label", "given_label"])
        writer.writerows(rows)
    counts = {str(c): int((given == c).sum()) for c in range(10)}
    return DemoDataset(
        root=out_dir,
        images=images_dir,
        truth=truth_path,
        n_images=len(rows),
        n_flipped=int((given != truth).sum()),
        n_broken=n_broken,
        class_counts=counts,
    )


def _write_broken(images_dir: Path, n_broken: int, rng: np.random.Generator) -> None:
    """Files that look like images but are not: empty, truncated, text with a .png name."""
    sample = Image.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8), "L")
    kinds = ["empty", "truncated", "text"]
    for k in range(n_broken):
        kind = kinds[k % len(kinds)]
        path = images_dir / str(k % 10) / f"{90000 + k:05d}.png"
        path.parent.mkdir(exist_ok=True)
        if kind == "empty":
            path.write_bytes(b"")
        elif kind == "truncated":
            sample.save(path)
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
        else:
            path.write_text("this is not an image\n")

"""The contract between the training engine (``scan``) and the orchestration that stores results.

``cross_validate`` (in ``scan.cv``) takes decoded-on-demand images and given labels and returns
out-of-sample ``pred_probs``; it knows nothing about the database. Fold results go through a
``FoldCheckpoint`` so that a killed scan resumes from the last finished fold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from labelaudit.core.errors import LabelauditError


@dataclass(frozen=True)
class ScanConfig:
    """Options of ``labelaudit scan``. ``None`` means "the model's default"."""

    model: str = "auto"  # auto | small-cnn | resnet18 | mobilenet_v3_small | ...
    linear_probe: bool = False  # frozen pretrained backbone + cross-validated logistic regression
    weights: Path | None = None  # a state_dict for the backbone (else torchvision's cache)
    folds: int = 5
    epochs: int | None = None
    image_size: int | None = None
    batch_size: int | None = None
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | mps
    # horizontal-flip augmentation; None: decided from the images (scan.mirror: colour photos on,
    # grey digits, text and symbols off, since a mirrored digit is not a digit)
    flip: bool | None = None
    workers: int | None = None  # image decode threads (training reads tensors in memory)
    threads: int | None = None  # torch intra-op threads (determinism is per thread count)
    embed: bool = True  # also compute embeddings (N, D) from one network for all images
    tta: bool = True  # test-time augmentation (shifts; mirror too when ``flip``) when predicting
    calibrate: bool = True  # noise-aware temperature per fold (scan.calibrate), fit on other folds

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["weights"] = str(self.weights) if self.weights else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScanConfig:
        """The config ``as_json`` wrote (extra keys of a stored scan config are ignored)."""
        known = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        weights = known.get("weights")
        return cls(**{**known, "weights": Path(weights) if weights else None})


class FoldCheckpoint(Protocol):
    """Where finished folds are kept. Rows are the fold's held-out indices, in index order."""

    def load(self, fold: int) -> np.ndarray | None:
        """float32 (n_heldout, K) pred_probs of a finished fold, or None."""

    def save(self, fold: int, pred_probs: np.ndarray) -> None:
        """Persist one finished fold (durably, before the next fold starts)."""

    def load_part(self, name: str) -> np.ndarray | None:
        """An array one rank of a distributed scan stored for the others (``scan.ranks``:
        ``embeddings``, a shard of probe features), or None."""

    def save_part(self, name: str, array: np.ndarray) -> None:
        """Persist such an array (durably, before the rank reports its work done)."""


@dataclass
class CVResult:
    pred_probs: np.ndarray  # float32 (N, K), out-of-sample, rows sum to 1
    fold: np.ndarray  # int8 (N,), the fold that held each image out
    embeddings: np.ndarray | None  # float32 (N, D) from ONE network for all images, or None
    info: dict[str, Any] = field(default_factory=dict)  # model, why, device, accuracy, timings


class ScanResourceError(LabelauditError):
    """The scan ran out of memory (host or GPU): a smaller --batch-size or --image-size helps."""

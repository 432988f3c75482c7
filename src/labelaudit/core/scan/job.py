"""One cross-validation run as the training engine sees it (made by ``cv.cross_validate``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelaudit.core.progress import Progress
from labelaudit.core.scan.api import FoldCheckpoint, ScanConfig
from labelaudit.core.scan.ranks import RankWork


@dataclasses.dataclass
class ScanJob:
    """The inputs of ``_engine.run_cnn`` / ``run_probe``, and the flip decided on the way."""

    paths: Sequence[Path]
    labels: np.ndarray  # int64 (N,), class index
    fold: np.ndarray  # int8 (N,), the fold that holds each image out
    n_classes: int
    config: ScanConfig  # resolved
    device: Any  # torch.device
    progress: Progress
    checkpoint: FoldCheckpoint | None
    flip: bool | None = None  # config.flip, or decided from the decoded images (scan.mirror)
    flip_why: str | None = None
    share: RankWork = dataclasses.field(default_factory=RankWork)  # this rank's items

    def __post_init__(self) -> None:
        self.flip = self.config.flip

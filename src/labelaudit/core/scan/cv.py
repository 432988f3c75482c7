"""K-fold cross-validation that yields out-of-sample ``pred_probs`` (N, K) and embeddings (N, D).

``resolve_config`` checks every option before anything is stored and fills in what ``auto`` and
the defaults mean; ``cross_validate`` decodes the images once, trains one network per fold (or
cross-validates a logistic regression on frozen pretrained features) and checkpoints each fold.
Torch is imported only inside functions, so importing this module stays cheap.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelaudit.core.errors import InputError, is_out_of_memory, out_of_memory_message
from labelaudit.core.progress import NullProgress, Progress
from labelaudit.core.scan.api import CVResult, FoldCheckpoint, ScanConfig, ScanResourceError
from labelaudit.core.scan.calibrate import calibrate_folds
from labelaudit.core.scan.folds import assign_folds
from labelaudit.core.scan.job import ScanJob
from labelaudit.core.scan.mirror import given as flip_given
from labelaudit.core.scan.models import (
    AUTO_BACKBONES,
    BACKBONES,
    MODELS,
    SMALL_CNN,
    cached_weights,
    model_names,
    torch_hub_checkpoints,
)
from labelaudit.core.scan.ranks import RankWork


def resolve_config(config: ScanConfig, *, n_classes: int, n_images: int) -> tuple[ScanConfig, str]:
    """Validate ``config`` and fill its defaults; return it with a one-line explanation.

    Raises InputError for: fewer than 2 classes or too few images for the folds, an unknown
    model or device, CUDA requested without CUDA, weights that do not fit the architecture,
    ``linear_probe`` without pretrained weights, an image size too small for the network.
    Idempotent: resolving a resolved config returns it unchanged.
    """
    _check_counts(config, n_classes=n_classes, n_images=n_images)
    _import_torch()
    from labelaudit.core.scan import _runtime

    device = _runtime.resolve_device(config.device)
    model, probe, weights, why = _choose_model(config, device)
    spec = MODELS[model]
    on_gpu = device.startswith("cuda")
    image_size = config.image_size or (
        spec.gpu_image_size if (on_gpu or probe) else spec.cpu_image_size
    )
    if image_size < spec.min_image_size:
        raise InputError(
            f"--image-size {image_size} is too small for {model}: it needs at least "
            f"{spec.min_image_size} px"
        )
    n_train = n_images - -(-n_images // config.folds)  # images a fold trains on
    batch_size = config.batch_size or _default_batch(model, n_train, on_gpu=on_gpu)
    epochs = None
    if not probe:
        epochs = config.epochs or _default_epochs(
            model, n_train, batch_size, pretrained=weights is not None, on_gpu=on_gpu
        )
    resolved = dataclasses.replace(
        config,
        model=model,
        linear_probe=probe,
        weights=weights,
        device=device,
        image_size=image_size,
        batch_size=batch_size,
        epochs=epochs,
        workers=config.workers or os.cpu_count() or 1,
        threads=config.threads or _runtime.default_threads(),
    )
    bf16, _ = _runtime.numerics(device)
    how = f"{device}, {'bf16' if bf16 else 'float32'}, {image_size} px"
    how += "" if probe else f", {epochs} epochs per fold, batch {batch_size}"
    return resolved, f"{why} ({how})"


def _check_counts(config: ScanConfig, *, n_classes: int, n_images: int) -> None:
    if n_classes < 2:
        raise InputError(
            f"a scan needs at least 2 classes with images; this project has {n_classes}"
        )
    if config.folds < 2:
        raise InputError(f"--folds must be at least 2, got {config.folds}")
    if n_images < 2 * config.folds:
        raise InputError(
            f"{n_images} valid images are too few for {config.folds}-fold cross-validation "
            f"(at least {2 * config.folds} needed)"
        )
    for option, value in (
        ("--epochs", config.epochs),
        ("--image-size", config.image_size),
        ("--batch-size", config.batch_size),
        ("--workers", config.workers),
        ("--threads", config.threads),
    ):
        if value is not None and value < 1:
            raise InputError(f"{option} must be a positive integer, got {value}")
    if config.seed < 0:
        raise InputError(f"--seed must be >= 0, got {config.seed}")
    if config.model != "auto" and config.model not in MODELS:
        raise InputError(f"unknown --model {config.model!r}; choose one of: {model_names()}")


def _import_torch() -> None:
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as exc:
        raise InputError(
            f"CNN scans need torch and torchvision ({exc}): pip install 'labelaudit[scan]', "
            "or bring your own predictions with --pred-probs"
        ) from exc


def _choose_model(config: ScanConfig, device: str) -> tuple[str, bool, Path | None, str]:
    """(model, linear_probe, weights file, why) for the requested model, weights and device."""
    from labelaudit.core.scan import _torch_models as tm

    on_gpu = device.startswith("cuda")
    model, probe = config.model, config.linear_probe
    if model == SMALL_CNN:
        if probe:
            raise InputError("--linear-probe needs a pretrained backbone, e.g. --model resnet18")
        if config.weights:
            raise InputError(f"--weights is for pretrained backbones ({', '.join(BACKBONES)})")
        return model, False, None, "small-cnn trained from scratch in each fold"
    if config.weights is not None:
        weights = Path(config.weights).expanduser()
        state = tm.read_state_dict(weights)
        if model == "auto":
            model = _architecture_of(state, weights)
        elif (reason := tm.weights_mismatch(model, state)) is not None:
            raise InputError(f"--weights {weights} do not fit {model}: {reason}")
        source = f"weights {weights.name}"
    else:
        candidates = AUTO_BACKBONES if model == "auto" else (model,)
        found = next(((m, p) for m in candidates if (p := cached_weights(m))), None)
        if found is None:
            return _without_weights(model, probe, on_gpu)
        model, weights = found
        source = f"{model} weights in torchvision's cache"
    if config.model == "auto" and not probe:
        probe = not on_gpu  # on a CPU, frozen pretrained features beat a slow fine-tune
    if probe:
        return model, True, weights, f"{model} linear probe: frozen {source} + logistic regression"
    return model, False, weights, f"{model} fine-tuned in each fold from {source}"


def _without_weights(model: str, probe: bool, on_gpu: bool) -> tuple[str, bool, None, str]:
    cache = torch_hub_checkpoints()
    if probe:
        target = "a backbone" if model == "auto" else model
        raise InputError(
            f"--linear-probe needs pretrained weights for {target}: none in {cache}; "
            "pass --weights PATH (a torchvision state_dict)"
        )
    if model == "auto":
        why = f"auto: no pretrained weights in {cache} nor --weights, so small-cnn is trained "
        return SMALL_CNN, False, None, why + "from scratch in each fold"
    return model, False, None, f"{model} trained from scratch (no pretrained weights in {cache})"


def _architecture_of(state: dict[str, Any], path: Path) -> str:
    from labelaudit.core.scan import _torch_models as tm

    for name in BACKBONES:
        if tm.weights_mismatch(name, state) is None:
            return name
    raise InputError(f"--weights {path} fit none of the known backbones ({', '.join(BACKBONES)})")


def _default_batch(model: str, n_train: int, *, on_gpu: bool) -> int:
    """~16+ steps per epoch: small data needs small batches to take enough optimizer steps."""
    if model != SMALL_CNN:
        return 128 if on_gpu else 64
    cap = 1024 if on_gpu else 128  # on a CPU, batches of 128 trained fastest per image
    return int(np.clip(2 ** int(np.log2(max(n_train // 16, 1))), 32, cap))


def _default_epochs(model: str, n_train: int, batch: int, *, pretrained: bool, on_gpu: bool) -> int:
    """Enough optimizer steps for small data, and enough passes for hard data.

    Measured on one CIFAR-10 fold (8,000 training photos, CPU): small-cnn reached 75-78% after
    8-16 epochs; on the demo digits 8 epochs found 97% of the planted flips. A GPU affords
    airbench's 10 epochs at batch 1,024 on 48,000 photos (~94%).
    """
    steps = max(1, n_train // min(batch, n_train))
    if model != SMALL_CNN:
        return 6 if pretrained else 20
    if on_gpu:
        return int(np.clip(-(-300 // steps), 10, 60))
    return int(np.clip(-(-150 // steps), 16, 40))


def cross_validate(
    paths: Sequence[Path],
    labels: np.ndarray,
    *,
    n_classes: int,
    groups: np.ndarray | None,
    config: ScanConfig,
    progress: Progress | None = None,
    checkpoint: FoldCheckpoint | None = None,
    share: RankWork | None = None,
) -> CVResult:
    """Out-of-sample pred_probs float32 (N, K) from K-fold cross-validation.

    ``labels`` int64 (N,) in 0..K-1; ``groups`` int64 (N,), -1 = alone: images sharing a group id
    stay in one fold. Finished folds come from ``checkpoint`` when it has them, and every newly
    trained fold is saved there (raw, before calibration) before the next starts. With
    ``config.calibrate`` each fold's rows are then tempered by a noise-aware temperature fitted
    on the other folds (``scan.calibrate``). ``config.flip`` None is decided from the decoded
    images (``scan.mirror``; undecided when nothing trains). With ``share`` (rank 0 of a
    distributed scan, ``scan.ranks``) this rank trains its share of the folds and gathers the
    others' from ``checkpoint``. Raises InputError for bad input, Cancelled when
    ``progress.cancel`` is set, ScanResourceError when memory runs out.
    """
    result = _run(paths, labels, n_classes, groups, config, progress, checkpoint, share)
    assert result is not None, "cross_validate runs on rank 0; other ranks use train_share"
    return result


def train_share(
    paths: Sequence[Path],
    labels: np.ndarray,
    *,
    n_classes: int,
    groups: np.ndarray | None,
    config: ScanConfig,
    checkpoint: FoldCheckpoint,
    share: RankWork,
    progress: Progress | None = None,
) -> None:
    """Another rank than 0 of a distributed scan: train this rank's share of the work items
    into ``checkpoint`` (``config`` as rank 0 resolved it), then wait for every rank."""
    assert not share.ranks.main
    _run(paths, labels, n_classes, groups, config, progress, checkpoint, share)


def _run(
    paths: Sequence[Path],
    labels: np.ndarray,
    n_classes: int,
    groups: np.ndarray | None,
    config: ScanConfig,
    progress: Progress | None,
    checkpoint: FoldCheckpoint | None,
    share: RankWork | None,
) -> CVResult | None:
    progress = progress or NullProgress()
    share = share or RankWork()
    labels = _check_labels(labels, n=len(paths), n_classes=n_classes)
    config, why = resolve_config(config, n_classes=n_classes, n_images=len(paths))
    fold = assign_folds(labels, n_folds=config.folds, seed=config.seed, groups=groups)
    from labelaudit.core.scan import _runtime
    from labelaudit.core.scan._engine import run_cnn
    from labelaudit.core.scan._probe import run_probe

    assert config.threads is not None
    started = time.monotonic()
    device_name = share.ranks.device(config.device)
    try:
        with _runtime.session(device=device_name, threads=config.threads) as device:
            job = ScanJob(paths, labels, fold, n_classes, config, device, progress, checkpoint)
            job.share = share
            pred_probs, embeddings, info = run_probe(job) if config.linear_probe else run_cnn(job)
    except Exception as exc:
        if is_out_of_memory(exc):
            raise ScanResourceError(out_of_memory_message(exc)) from exc
        raise
    if not share.ranks.main:
        return None
    if config.calibrate:
        pred_probs, fits = calibrate_folds(pred_probs, labels, fold)
        info["calibration"] = fits
        info["noise_rate_estimate"] = round(float(np.mean([f["noise_rate"] for f in fits])), 4)
    accuracy = float((pred_probs.argmax(1) == labels).mean()) if len(labels) else 0.0
    info.update(
        why=why,
        flip_why=job.flip_why or flip_given(config),
        config=dataclasses.replace(config, flip=job.flip).as_json(),
        accuracy_vs_given=accuracy,
        total_s=round(time.monotonic() - started, 2),
        ranks=share.ranks.world,
    )
    return CVResult(pred_probs=pred_probs, fold=fold, embeddings=embeddings, info=info)


def _check_labels(labels: np.ndarray, *, n: int, n_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise InputError(f"labels must have shape ({n},), got {labels.shape}")
    if n and (labels.min() < 0 or labels.max() >= n_classes):
        raise InputError(f"labels must lie in 0..{n_classes - 1}")
    return labels.astype(np.int64, copy=False)

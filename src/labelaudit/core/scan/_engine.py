"""The fold loop: decode once, train and predict per fold, embed with one network.

Imports torch at module level; ``cv.cross_validate`` imports this module lazily.
"""

from __future__ import annotations

import time
from typing import Any, cast

import numpy as np
import torch  # noqa: TID253 (a lazily imported module)

from labelaudit.core.scan import _train
from labelaudit.core.scan._runtime import numerics
from labelaudit.core.scan._torch_models import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    build_model,
    read_state_dict,
)
from labelaudit.core.scan.decode import decode_images
from labelaudit.core.scan.job import ScanJob
from labelaudit.core.scan.mirror import decide_from_pixels
from labelaudit.core.scan.models import MODELS, small_cnn_widths
from labelaudit.core.scan.ranks import EMBED, EMBEDDINGS


class Images:
    """Decodes on first use: a fully checkpointed scan without embeddings decodes nothing."""

    def __init__(self, job: ScanJob, *, channels: int | None, rows: Any = None) -> None:
        self.job = job
        self.channels = channels
        self.rows = rows  # a subset of the images (int64 indices), or None for all
        self._array: np.ndarray | None = None
        self.decode_s = 0.0

    def get(self) -> np.ndarray:
        if self._array is None:
            cfg = self.job.config
            assert cfg.image_size is not None
            started = time.monotonic()
            paths = self.job.paths
            if self.rows is not None:
                paths = [paths[i] for i in self.rows]
            self._array = decode_images(
                paths,
                size=cfg.image_size,
                channels=self.channels,
                workers=cfg.workers,
                progress=self.job.progress,
            )
            self.decode_s = time.monotonic() - started
        return self._array


def make_plan(job: ScanJob, images: np.ndarray, *, pretrained: bool) -> _train.Plan:
    cfg = job.config
    assert cfg.batch_size is not None and cfg.image_size is not None
    if job.flip is None:  # not given: decided from the images (no decoding of its own)
        job.flip, job.flip_why = decide_from_pixels(images)
    bf16, channels_last = numerics(cfg.device)
    # from scratch: the images' own statistics, measured by _train.Data where the images live
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if pretrained else ((), ())
    return _train.Plan(
        epochs=cfg.epochs or 0,  # a linear probe trains no network
        batch_size=cfg.batch_size,
        device=job.device,
        bf16=bf16,
        channels_last=channels_last,
        flip=job.flip,
        tta=cfg.tta,
        shift=max(1, round(cfg.image_size / 16)),
        mean=mean,
        std=std,
        pretrained=pretrained,
    )


def run_cnn(job: ScanJob) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """A network trained per fold; embeddings from the pretrained body or a network fit on all."""
    cfg = job.config
    spec = MODELS[cfg.model]
    state = read_state_dict(cfg.weights) if cfg.weights is not None else None
    images = Images(job, channels=3 if spec.pretrainable else None)
    widths = small_cnn_widths(len(job.labels), on_gpu=job.device.type == "cuda")
    pred_probs = np.zeros((len(job.labels), job.n_classes), dtype=np.float32)
    info: dict[str, Any] = {"model": cfg.model, "device": str(job.device), "folds": []}
    context: dict[str, Any] = {}

    def new_model(seed: int) -> Any:
        torch.manual_seed(seed)
        array = images.get()
        if "data" not in context:
            plan = make_plan(job, array, pretrained=state is not None)
            context["data"] = _train.Data(array, plan)
            context["plan"] = context["data"].plan  # with the measured mean and std
        model = build_model(
            cfg.model,
            n_classes=job.n_classes,
            in_channels=array.shape[1],
            widths=widths,
            state_dict=state,
        )
        return model.to(job.device).to(memory_format=memory_format(context["plan"]))

    share = job.share
    for k in range(cfg.folds):
        if share.does(k):
            info["folds"].append(_run_fold(job, new_model, context, k, pred_probs))
    started = time.monotonic()
    embeddings = None
    if share.does(EMBED):
        embeddings = _cnn_embeddings(job, new_model, context, pretrained=state is not None)
        if share.ranks.distributed and embeddings is not None:
            assert job.checkpoint is not None
            job.checkpoint.save_part(EMBEDDINGS, embeddings)
    info["embed_s"] = round(time.monotonic() - started, 2)
    share.wait_all()  # every rank's items are in the checkpoint
    if share.gather:
        embeddings = _gather(job, pred_probs, info["folds"], embeddings)
    plan = context.get("plan")
    info.update(
        image_size=cfg.image_size,
        channels=None if plan is None else context["data"].images.shape[1],
        bf16=None if plan is None else plan.bf16,
        widths=list(widths) if not spec.pretrainable else None,
        decode_s=round(images.decode_s, 2),
    )
    _summarise_speed(info)
    return pred_probs, embeddings, info


def _gather(
    job: ScanJob, pred_probs: np.ndarray, folds: list[dict[str, Any]], embeddings: Any
) -> np.ndarray | None:
    """The gathering rank: the other ranks' folds and embeddings, from the checkpoint."""
    assert job.checkpoint is not None
    share = job.share
    for k in range(job.config.folds):
        if share.does(k):
            continue
        held = np.flatnonzero(job.fold == k)
        stored = job.checkpoint.load(k)
        if stored is None or stored.shape != (len(held), job.n_classes):
            raise RuntimeError(f"fold {k + 1} is not in the checkpoint after every rank finished")
        pred_probs[held] = stored
        folds.append(
            {"fold": k, "resumed": True} if k in share.done else {"fold": k, "rank": share.owner(k)}
        )
    folds.sort(key=lambda f: f["fold"])
    if not job.config.embed or share.does(EMBED):
        return cast("np.ndarray | None", embeddings)
    stored = job.checkpoint.load_part(EMBEDDINGS)
    if stored is None or len(stored) != len(job.labels):
        raise RuntimeError("the embeddings are not in the checkpoint after every rank finished")
    return stored


def _run_fold(
    job: ScanJob, new_model: Any, context: dict[str, Any], k: int, pred_probs: np.ndarray
) -> dict[str, Any]:
    """Fill fold ``k``'s rows of ``pred_probs``: from the checkpoint, or train and predict."""
    held = np.flatnonzero(job.fold == k)
    stored = job.checkpoint.load(k) if job.checkpoint is not None else None
    if stored is not None and stored.shape == (len(held), job.n_classes):
        pred_probs[held] = stored
        return {"fold": k, "resumed": True}
    train = np.flatnonzero(job.fold != k)
    seed = _train.seed_for(job.config.seed, k)
    later = (job.config.folds - 1 - k) * len(train)  # images per epoch still to come
    model, fold_info = _train_one(
        job, new_model, context, train, seed, "fold", fold=k + 1, later_per_epoch=later
    )
    logits = _train.predict_logits(model, context["data"], held, batch=eval_batch(job))
    probs = _train.softmax(logits)
    pred_probs[held] = probs
    if job.checkpoint is not None:
        job.checkpoint.save(k, probs)
    return {"fold": k, **fold_info}


def _train_one(
    job: ScanJob,
    new_model: Any,
    context: dict[str, Any],
    rows: np.ndarray,
    seed: int,
    label: str,
    *,
    epochs: int | None = None,
    fold: int | None = None,
    later_per_epoch: int = 0,
) -> tuple[Any, dict[str, Any]]:
    """Train a fresh network on ``rows``; report progress as step ``label``, or "fold 2/5" with
    the step's ``fold`` (1-based) and ``n_folds`` set for cross-validation fold ``fold``.

    Updates carry the epoch, images/s and ``eta_s`` for the whole scan: this step plus
    ``later_per_epoch`` images per epoch of the folds still to train (and the embedding model).
    """
    cfg = job.config
    model = new_model(seed)
    plan: _train.Plan = context["plan"]
    epochs = epochs or plan.epochs
    gen = torch.Generator(device=job.device).manual_seed(seed)  # draws where it trains
    per_epoch = _train.steps_per_epoch(len(rows), plan.batch_size) * min(plan.batch_size, len(rows))
    total = per_epoch * epochs
    name = label if fold is None else f"fold {fold}/{cfg.folds}"
    started = time.monotonic()
    n_folds = None if fold is None else cfg.folds
    with job.progress.step(name, total, unit="img", fold=fold, n_folds=n_folds) as state:
        later = later_per_epoch * epochs
        if job.config.embed and not context["plan"].pretrained and fold is not None:
            later += len(job.labels) * max(1, epochs // 2)

        def on_batch(n: int, epoch: int) -> None:
            rate = state.rate
            eta = (total - state.done + later) / rate if rate > 0 else None
            job.progress.advance(n, epoch=epoch + 1, epochs=epochs, images_per_s=rate, eta_s=eta)

        _train.fit(
            model, context["data"], rows, job.labels, gen=gen, on_batch=on_batch, epochs=epochs
        )
    seconds = time.monotonic() - started
    return model, {"train_s": round(seconds, 2), "images": total, "images_per_s": total / seconds}


def _cnn_embeddings(
    job: ScanJob, new_model: Any, context: dict[str, Any], *, pretrained: bool
) -> np.ndarray | None:
    """ONE network for all images: the frozen pretrained body, or small-cnn fit on every image."""
    if not job.config.embed:
        return None
    if pretrained:
        model = new_model(_train.seed_for(job.config.seed, job.config.folds))
    else:
        # features for similarity need less polish than predictions: half the epochs
        every = np.arange(len(job.labels))
        seed = _train.seed_for(job.config.seed, job.config.folds)
        assert job.config.epochs is not None
        epochs = max(1, job.config.epochs // 2)
        model, _ = _train_one(
            job, new_model, context, every, seed, "embedding model", epochs=epochs
        )
    with job.progress.step("embeddings", len(job.labels), unit="img"):
        return _train.features(
            model, context["data"], batch=eval_batch(job), on_batch=advance_step(job)
        )


def advance_step(job: ScanJob) -> _train.OnBatch:
    """A batch callback that advances the current progress step (and polls for Cancel)."""

    def advance(n: int, epoch: int) -> None:
        job.progress.advance(n)

    return advance


def memory_format(plan: _train.Plan) -> Any:
    return torch.channels_last if plan.channels_last else torch.contiguous_format


def eval_batch(job: ScanJob) -> int:
    assert job.config.batch_size is not None
    return max(job.config.batch_size, 256 if job.device.type == "cpu" else 1024)


def _summarise_speed(info: dict[str, Any]) -> None:
    trained = [f for f in info["folds"] if "train_s" in f]  # here, not resumed nor elsewhere
    seconds = sum(f["train_s"] for f in trained)
    images = sum(f["images"] for f in trained)
    info["train_s"] = round(seconds, 2)
    info["train_images_per_s"] = round(images / seconds, 1) if seconds else None
    info["resumed_folds"] = [f["fold"] for f in info["folds"] if f.get("resumed")]

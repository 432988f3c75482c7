"""Linear probe: a logistic regression cross-validated on frozen backbone features.

Imports torch at module level (through ``_engine``); ``cv`` imports this module lazily.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import torch  # noqa: TID253 (a lazily imported module)

from labelaudit.core.scan import _train
from labelaudit.core.scan._engine import Images, advance_step, eval_batch, make_plan, memory_format
from labelaudit.core.scan._torch_models import build_model, read_state_dict
from labelaudit.core.scan.job import ScanJob
from labelaudit.core.scan.ranks import probe_shard


def run_probe(job: ScanJob) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """Frozen pretrained features once, then a logistic regression cross-validated on them.

    In a distributed scan each rank decodes and embeds its shards of the images (``scan.ranks``)
    and rank 0 gathers them; the regressions are rank 0's alone."""
    cfg = job.config
    share = job.share
    world = share.ranks.world if share.todo is not None else 1
    shards = np.array_split(np.arange(len(job.labels)), world)
    parts: list[np.ndarray] = []
    info: dict[str, Any] = {"model": f"{cfg.model} linear probe", "device": str(job.device)}
    for s, rows in enumerate(shards):
        if share.does(s):
            parts.append(_shard_features(job, rows if world > 1 else None, info))
            if world > 1:
                assert job.checkpoint is not None
                job.checkpoint.save_part(probe_shard(s, world=world), parts[-1])
    share.wait_all()  # every shard is in the checkpoint
    if not share.ranks.main:
        return np.zeros((0, job.n_classes), dtype=np.float32), None, info
    if world > 1:
        assert job.checkpoint is not None
        parts = [_stored(job, s, world, len(rows)) for s, rows in enumerate(shards)]
    feats = np.concatenate(parts)
    pred_probs, fold_info = probe_folds(job, feats)
    info.update(image_size=cfg.image_size, folds=fold_info)
    return pred_probs, (feats if cfg.embed else None), info


def _shard_features(job: ScanJob, rows: np.ndarray | None, info: dict[str, Any]) -> np.ndarray:
    """float32 (n, D) frozen features of ``rows`` (None: every image), decoded here."""
    cfg = job.config
    assert cfg.weights is not None
    images = Images(job, channels=3, rows=rows)
    array = images.get()
    plan = make_plan(job, array, pretrained=True)
    data = _train.Data(array, plan)
    torch.manual_seed(_train.seed_for(cfg.seed, cfg.folds))
    model = build_model(
        cfg.model,
        n_classes=job.n_classes,
        in_channels=array.shape[1],
        state_dict=read_state_dict(cfg.weights),
    )
    model = model.to(job.device).to(memory_format=memory_format(plan))
    started = time.monotonic()
    with job.progress.step("embeddings", len(array), unit="img"):
        feats = _train.features(model, data, batch=eval_batch(job), on_batch=advance_step(job))
    info["bf16"] = plan.bf16
    info["decode_s"] = round(info.get("decode_s", 0) + images.decode_s, 2)
    info["embed_s"] = round(info.get("embed_s", 0) + time.monotonic() - started, 2)
    return feats


def _stored(job: ScanJob, shard: int, world: int, n: int) -> np.ndarray:
    assert job.checkpoint is not None
    part = job.checkpoint.load_part(probe_shard(shard, world=world))
    if part is None or len(part) != n:
        raise RuntimeError(f"feature shard {shard + 1} is not in the checkpoint after every rank")
    return part


def probe_folds(job: ScanJob, feats: np.ndarray) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """float32 (N, K) out-of-sample probabilities from features (N, D); per-fold info."""
    cfg = job.config
    pred_probs = np.zeros((len(job.labels), job.n_classes), dtype=np.float32)
    info: list[dict[str, Any]] = []
    for k in range(cfg.folds):
        held = np.flatnonzero(job.fold == k)
        stored = job.checkpoint.load(k) if job.checkpoint is not None else None
        if stored is not None and stored.shape == (len(held), job.n_classes):
            pred_probs[held] = stored
            info.append({"fold": k, "resumed": True})
            continue
        train = np.flatnonzero(job.fold != k)
        started = time.monotonic()
        with job.progress.step(f"fold {k + 1}/{cfg.folds}", 1, fold=k + 1, n_folds=cfg.folds):
            probs = _fit_predict(feats[train], job.labels[train], feats[held], job.n_classes)
            job.progress.advance(1)
        pred_probs[held] = probs
        if job.checkpoint is not None:
            job.checkpoint.save(k, probs)
        info.append({"fold": k, "train_s": round(time.monotonic() - started, 2)})
    return pred_probs, info


def _fit_predict(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, n_classes: int
) -> np.ndarray:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x_train)
    classifier = LogisticRegression(C=0.5, max_iter=500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a near-optimum is good enough
        classifier.fit(scaler.transform(x_train), y_train)
    partial = classifier.predict_proba(scaler.transform(x_test))
    # a class absent from this fold's training rows gets probability 0
    out = np.zeros((len(x_test), n_classes), dtype=np.float64)
    out[:, classifier.classes_] = partial
    out32 = out.astype(np.float32)
    return out32 / out32.sum(axis=1, keepdims=True)

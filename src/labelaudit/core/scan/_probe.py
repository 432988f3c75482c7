"""Linear probe: a logistic regression cross-validated on frozen backbone features."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from labelaudit.core.scan.job import ScanJob


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

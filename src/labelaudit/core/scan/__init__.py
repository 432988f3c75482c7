"""Cross-validated out-of-sample predictions: models, folds, devices, training.

Public entry points (torch is imported lazily, inside them):

- ``scan.cv.resolve_config(config, n_classes=, n_images=)`` -> (resolved ScanConfig, why)
- ``scan.cv.cross_validate(paths, labels, n_classes=, groups=, config=, progress=, checkpoint=)``
  -> ``CVResult`` (pred_probs float32 (N, K), fold int8 (N,), embeddings float32 (N, D) | None)
- ``scan.folds.assign_folds``, ``scan.decode.decode_images``, ``scan.calibrate`` (noise-aware
  temperature), ``scan.models`` (the model registry and torchvision's weight cache)

Modules starting with ``_`` import torch at module level and are imported only inside functions.
"""

"""Cross-validated out-of-sample predictions: models, folds, devices, training."""

"""Files copied into every export: ``retrain.py`` needs only torch and torchvision."""

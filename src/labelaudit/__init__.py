"""labelaudit: find and fix wrong labels in image-classification datasets."""

__version__ = "0.1.0"

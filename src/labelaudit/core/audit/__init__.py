"""Thin typed wrappers over cleanlab: label issues, scores, noise matrix, dataset health."""

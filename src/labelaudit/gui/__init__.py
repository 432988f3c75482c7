"""The review app (PySide6): the only package that imports Qt."""

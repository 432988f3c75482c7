"""Errors a user can act on. The CLI prints them as one line; the app shows them in a message."""

from __future__ import annotations


class LabelauditError(Exception):
    """A failure caused by input or environment, explained in one line (no traceback)."""

    exit_code = 2


class ProjectError(LabelauditError):
    """A missing, foreign or incompatible project folder."""


class InputError(LabelauditError):
    """Bad user input: a path, a file, an option value."""


class StoreLockedError(LabelauditError):
    """The database stayed locked by another writer for longer than the retry budget."""

    exit_code = 3


class StoreError(LabelauditError):
    """The database cannot be reached or is in an unexpected state."""


class DiskFullError(LabelauditError):
    """No space left on a device while writing."""


class Cancelled(LabelauditError):
    """The user cancelled a long operation; the project is left consistent."""

    exit_code = 130

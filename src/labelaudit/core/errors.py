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


def describe(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 500 characters (for one-line reports)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def is_out_of_memory(exc: BaseException) -> bool:
    """Host or GPU memory ran out: MemoryError, torch's OutOfMemoryError (known by its name, so
    torch is not imported here), or a RuntimeError that says so (torch's CPU allocator)."""
    if isinstance(exc, MemoryError) or "OutOfMemory" in type(exc).__name__:
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


def out_of_memory_message(exc: BaseException) -> str:
    """The one message for a scan that ran out of memory, wherever it was caught."""
    return (
        f"the scan ran out of memory ({describe(exc)}); try a smaller --batch-size or "
        "--image-size, or close other programs"
    )

"""Folder and file names that are safe on every common file system and cannot clash.

Class names become folder names: no ``/`` or ``\\``, no ``..``, no control characters, none of
Windows' reserved characters or device names, no leading dot (hidden folders get skipped by some
tools). Names that become equal after this, or that differ only by case (macOS and Windows file
systems fold case), get a numbered suffix; every change is reported.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from labelaudit.core.paths import nfc

UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
WINDOWS_DEVICES = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(10)}
)
MAX_NAME_BYTES = 200  # well under the usual 255-byte limit, leaving room for suffixes
REPEAT_MARK = "__rep"


def safe_component(name: str) -> str:
    """One path component that every common file system accepts (may still clash)."""
    text = nfc(name)
    text = "".join("_" if unicodedata.category(ch) == "Cc" else ch for ch in text)
    text = UNSAFE_CHARS.sub("_", text).strip().rstrip(".")
    if text in ("", ".", ".."):
        text = "_"
    if text.startswith("."):
        text = "_" + text[1:]
    if text.split(".")[0].lower() in WINDOWS_DEVICES:
        text = "_" + text
    return _truncate(text, MAX_NAME_BYTES)


def _truncate(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def class_folders(class_names: list[str]) -> dict[str, str]:
    """{class name: folder name}, unique even on case-insensitive file systems."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in class_names:
        base = safe_component(name)
        folder, n = base, 1
        while folder.casefold() in taken:
            n += 1
            folder = f"{base}_{n}"
        taken.add(folder.casefold())
        out[name] = folder
    return out


def split_name(filename: str) -> tuple[str, str]:
    """(stem, extension with its dot); a leading dot is part of the stem."""
    dot = filename.rfind(".")
    if dot <= 0:
        return filename, ""
    return filename[:dot], filename[dot:]


class FolderNames:
    """Hands out file names inside one folder that differ even when case is folded."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, stem: str, ext: str, *, image_id: int) -> str:
        """``stem.ext`` if free, else ``stem__id<image_id>.ext`` (then numbered).

        A stem that looks like a repeat (``__rep``) always gets its id: such names are reserved
        for the repeats that oversampling writes.
        """
        stem = _truncate(safe_component(stem), MAX_NAME_BYTES - 40)
        return self._first_free(_candidates(stem, _safe_ext(ext), image_id, REPEAT_MARK in stem))

    def claim_repeat(self, primary: str, number: int, *, image_id: int) -> str:
        """The name of the ``number``-th copy of ``primary``: ``<stem>__rep<number>.<ext>``."""
        stem, ext = split_name(primary)
        return self._first_free(_candidates(f"{stem}{REPEAT_MARK}{number}", ext, image_id, False))

    def _first_free(self, candidates: Iterator[str]) -> str:
        for candidate in candidates:
            if candidate.casefold() not in self._taken:
                self._taken.add(candidate.casefold())
                return candidate
        raise AssertionError("unreachable: numbered candidates never run out")


def _safe_ext(ext: str) -> str:
    """``.JPG`` -> ``.jpg``; an extension is ASCII letters and digits after one dot."""
    body = re.sub(r"[^0-9A-Za-z]", "", ext.lstrip("."))[:10]
    return f".{body.lower()}" if body else ""


def _candidates(stem: str, ext: str, image_id: int, needs_id: bool) -> Iterator[str]:
    if not needs_id:
        yield f"{stem}{ext}"
    yield f"{stem}__id{image_id}{ext}"
    n = 2
    while True:
        yield f"{stem}__id{image_id}_{n}{ext}"
        n += 1

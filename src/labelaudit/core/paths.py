"""Image paths and identity (architecture.md §5, "Paths and identity").

An image's path is POSIX, relative to the image root, Unicode NFC, case kept. The CLI also accepts
an absolute path under the root. Folders that must not overlap (project, image root, export) are
compared after resolving symlinks.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from labelaudit.core.errors import InputError

HIDDEN_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", "Icon\r", "ehthumbs.db"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def is_hidden(name: str) -> bool:
    """Hidden or system files that an import ignores silently (dot files, macOS/Windows cruft)."""
    return name.startswith(".") or name in HIDDEN_NAMES or name.startswith("._")


def has_image_extension(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def normalize_relpath(text: str) -> str:
    """Normalise a relative path given by a user or a manifest to the stored form.

    Raises InputError for absolute paths and paths that climb out of the root (``..``).
    """
    raw = nfc(text.strip().replace("\\", "/"))
    if not raw:
        raise InputError("empty path")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise InputError(f"absolute path not allowed here: {text}")
    parts = [p for p in PurePosixPath(raw).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise InputError(f"path escapes the image root: {text}")
    return "/".join(parts)


def to_relpath(path: str | os.PathLike[str], image_root: Path) -> str:
    """Stored form of a path the user typed: relative to the root, or absolute under it."""
    text = os.fspath(path)
    if os.path.isabs(text):
        absolute = Path(os.path.normpath(text))
        root = Path(os.path.normpath(image_root))
        try:
            rel = absolute.relative_to(root)
        except ValueError:
            try:
                rel = absolute.resolve().relative_to(root.resolve())
            except ValueError:
                raise InputError(f"path is not under the image root {image_root}: {text}") from None
        return normalize_relpath(rel.as_posix())
    return normalize_relpath(text)


def is_within(child: Path, parent: Path) -> bool:
    """True if ``child`` is ``parent`` or lies inside it (after resolving symlinks)."""
    child_r = child.resolve()
    parent_r = parent.resolve()
    return child_r == parent_r or parent_r in child_r.parents


def overlaps(a: Path, b: Path) -> bool:
    """True if either folder contains the other."""
    return is_within(a, b) or is_within(b, a)


def disk_path(image_root: Path, relpath: str) -> Path:
    """The file on disk for a stored (NFC) path.

    macOS-made or copied trees may hold names in another Unicode normal form (NFD); a stored path
    is then found by matching each component after normalisation, trying every spelling of a
    folder (a folder may have an NFC and an NFD twin). Returns the plain join when nothing
    matches, so callers report the usual "not found".
    """
    direct = image_root / relpath
    if direct.exists() or relpath.isascii():
        return direct
    return next(disk_spellings(image_root, relpath), direct)


def disk_spellings(image_root: Path, relpath: str) -> Iterator[Path]:
    """Every existing path under ``image_root`` equal to ``relpath`` after NFC, exact first."""
    yield from _spellings(image_root, relpath.split("/"))


def _spellings(current: Path, parts: list[str]) -> Iterator[Path]:
    if not parts:
        yield current
        return
    head, rest = parts[0], parts[1:]
    try:
        names = sorted(
            (e.name for e in os.scandir(current) if nfc(e.name) == head), key=head.__ne__
        )
    except OSError:
        return
    for name in names:
        yield from _spellings(current / name, rest)

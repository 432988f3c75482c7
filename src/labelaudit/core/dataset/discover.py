"""Find the images of a dataset and their given labels, before any file is read.

Two sources: a folder-per-class tree (torchvision's ImageFolder layout; the label is the top-level
folder, nested folders inside a class are allowed) and a CSV manifest with ``path,label[,split]``.
Each yields candidates (path relative to the root, label, split) plus problems that need no decode.
"""

from __future__ import annotations

import csv
import errno
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from labelaudit.core.csv_safe import unescape_cell
from labelaudit.core.dataset.problems import Problem
from labelaudit.core.errors import InputError
from labelaudit.core.paths import (
    disk_path,
    has_image_extension,
    is_hidden,
    nfc,
    normalize_relpath,
)

# A manifest's ``split`` values, case-insensitive, stored as train, val or test (the names an export
# writes). Anything else refuses the whole manifest: a typo would otherwise surface only at export.
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}


@dataclass(frozen=True)
class Candidate:
    path: str  # relative, POSIX, NFC
    label: str | None
    split: str | None = None
    disk: str | None = None  # the name on disk when it is not NFC


@dataclass
class Discovery:
    candidates: list[Candidate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped_non_images: int = 0
    labels: set[str] = field(default_factory=set)
    skipped_projects: list[str] = field(default_factory=list)  # labelaudit project folders


# A folder holding one of these is a labelaudit project (its thumbnails are not dataset images).
_DB_FILE = "labelaudit.db"
_PROJECT_FILE = "project.json"


def _valid_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _display(name: str) -> str:
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _is_project_folder(entries: list[os.DirEntry[str]]) -> bool:
    names = {e.name: e for e in entries}
    if _DB_FILE in names:
        return True
    marker = names.get(_PROJECT_FILE)
    if marker is None:
        return False
    try:
        with open(marker.path, encoding="utf-8") as fh:
            return "labelaudit_project" in fh.read(4096)
    except (OSError, UnicodeDecodeError):
        return False


def _walk(
    root: Path, rel: str = "", *, skipped: list[str] | None = None
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Yield (relative path, entry) for files under root; symlinked folders are not followed,
    and a folder holding a labelaudit project is skipped (listed in ``skipped``)."""
    try:
        entries = sorted(os.scandir(root / rel if rel else root), key=lambda e: e.name)
    except OSError:
        return
    if rel and _is_project_folder(entries):
        if skipped is not None:
            skipped.append(_display(rel))
        return
    for entry in entries:
        if is_hidden(entry.name):
            continue
        child = f"{rel}/{entry.name}" if rel else entry.name
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(root, child, skipped=skipped)
        else:
            yield child, entry


def _link_problem(entry: os.DirEntry[str], root_resolved: Path) -> str | None:
    """``symlink_loop`` or ``symlink_outside_root`` for a symbolic link that must not be followed,
    else None (not a link, a link that stays inside the root, or a dangling one: unreadable)."""
    if not entry.is_symlink():
        return None
    try:
        target = Path(os.path.realpath(entry.path, strict=True))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink_loop"
        target = Path(os.path.realpath(entry.path))  # dangling: judged by where it points
    holder = Path(os.path.realpath(os.path.dirname(entry.path)))
    if target == holder or target in holder.parents:  # a folder link to itself or an ancestor
        return "symlink_loop"
    if target != root_resolved and root_resolved not in target.parents:
        return "symlink_outside_root"
    return None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False  # a link to something unreadable: the import reports the file


def _spellings(files: list[tuple[str, os.DirEntry[str]]]) -> dict[str, list[str]]:
    """Names on disk for each NFC path: more than one means twins (NFC and NFD spellings)."""
    out: dict[str, list[str]] = {}
    for raw_rel, _ in files:
        if _valid_utf8(raw_rel):
            out.setdefault(nfc(raw_rel), []).append(raw_rel)
    return out


def _clash(rel: str, raw_rel: str, spellings: list[str]) -> Problem:
    detail = f"on disk as {raw_rel!a}, one of {len(spellings)} names equal after NFC"
    return Problem(rel, "name_clash", detail)


class _Containment:
    """Whether a manifest path, resolved through every symlinked folder on the way, stays inside
    the root. Resolved parent folders are cached: a manifest lists many files per folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self._parents: dict[Path, Path] = {}

    def escapes(self, full: Path) -> bool:
        parent = self._parents.get(full.parent)
        if parent is None:
            parent = self._parents[full.parent] = Path(os.path.realpath(full.parent))
        target = Path(os.path.realpath(full)) if full.is_symlink() else parent / full.name
        return self.root not in target.parents


def _loops(path: Path) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


class _Twins:
    """Whether a manifest path names twins on disk: files or folders on its way whose names are
    equal after NFC (an NFC and an NFD spelling). Folder listings are cached."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._counts: dict[Path, dict[str, int]] = {}

    def clash(self, rel: str) -> bool:
        if rel.isascii():
            return False
        parts = rel.split("/")
        for i, part in enumerate(parts):
            folder = disk_path(self.root, "/".join(parts[:i])) if i else self.root
            if self._names(folder).get(part, 0) > 1:
                return True
        return False

    def _names(self, folder: Path) -> dict[str, int]:
        counts = self._counts.get(folder)
        if counts is None:
            counts = self._counts[folder] = {}
            try:
                for name in os.listdir(folder):
                    counts[nfc(name)] = counts.get(nfc(name), 0) + 1
            except (OSError, UnicodeError):
                pass
        return counts


def discover_folder(root: Path, *, allowed_labels: set[str] | None = None) -> Discovery:
    """Candidates of a folder-per-class tree under ``root``."""
    found = Discovery()
    root_resolved = root.resolve()
    files = list(_walk(root, skipped=found.skipped_projects))
    spellings = _spellings(files)
    for raw_rel, entry in files:
        if not _valid_utf8(raw_rel):
            found.problems.append(Problem(_display(raw_rel), "bad_filename"))
            continue
        rel = nfc(raw_rel)
        link_problem = _link_problem(entry, root_resolved)
        if _is_dir(entry) or link_problem == "symlink_loop":  # folder links are not followed
            if link_problem is not None:
                found.problems.append(Problem(rel, link_problem))
            continue
        if not has_image_extension(entry.name):
            found.skipped_non_images += 1
            continue
        if link_problem is not None:
            found.problems.append(Problem(rel, link_problem))
            continue
        if len(spellings[rel]) > 1:  # neither twin is imported: one stored path cannot name both
            found.problems.append(_clash(rel, raw_rel, spellings[rel]))
            continue
        _add_walked(found, rel, raw_rel, allowed_labels)
    return found


def _add_walked(found: Discovery, rel: str, raw_rel: str, allowed: set[str] | None) -> None:
    disk = raw_rel if raw_rel != rel else None
    if "/" not in rel:
        found.problems.append(Problem(rel, "no_label"))
        return
    label = rel.split("/", 1)[0]
    if allowed is not None and label not in allowed:
        found.candidates.append(Candidate(rel, None, disk=disk))
        found.problems.append(Problem(rel, "unknown_label", label))
        return
    found.labels.add(label)
    found.candidates.append(Candidate(rel, label, disk=disk))


def read_manifest(
    manifest: Path, root: Path, *, allowed_labels: set[str] | None = None
) -> Discovery:
    """Candidates listed by a CSV manifest (``path,label`` and optional ``split``)."""
    found = Discovery()
    containment = _Containment(root)
    twins = _Twins(root)
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read the manifest {manifest}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"the manifest {manifest} is not UTF-8 text") from None
    with io.StringIO(text, newline="") as fh:
        try:
            reader = csv.DictReader(fh)
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
            missing = {"path", "label"} - set(header)
            if missing:
                raise InputError(
                    f"the manifest {manifest} needs the columns path,label (missing: "
                    f"{', '.join(sorted(missing))}; found: {', '.join(header) or 'nothing'})"
                )
            reader.fieldnames = header
            rows = [(reader.line_num, row) for row in reader]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"the manifest {manifest} is not a readable CSV file: {exc}") from None
    splits = _manifest_splits(manifest, rows)
    seen: set[str] = set()
    for (_, row), split in zip(rows, splits, strict=True):
        # A manifest.csv written by an export escapes formula-like cells (core/csv_safe.py).
        raw_path = unescape_cell((row.get("path") or "").strip())
        label = nfc(unescape_cell((row.get("label") or "").strip()))
        try:
            rel = normalize_relpath(raw_path)
        except InputError:
            found.problems.append(Problem(raw_path or "<empty>", "path_escapes_root"))
            continue
        if rel in seen:
            found.problems.append(Problem(rel, "duplicate_path"))
            continue
        seen.add(rel)
        full = disk_path(root, rel)
        disk = full.relative_to(root).as_posix() if full != root / rel else None
        if _loops(full):
            found.problems.append(Problem(rel, "symlink_loop"))
            continue
        if containment.escapes(full):
            found.problems.append(Problem(rel, "symlink_outside_root"))
            continue
        if twins.clash(rel):
            found.problems.append(Problem(rel, "name_clash", "twins on disk (NFC and NFD names)"))
            continue
        if not full.is_file():
            found.problems.append(Problem(rel, "missing_file"))
            continue
        if not label:
            found.candidates.append(Candidate(rel, None, split, disk))
            found.problems.append(Problem(rel, "empty_label"))
            continue
        if allowed_labels is not None and label not in allowed_labels:
            found.candidates.append(Candidate(rel, None, split, disk))
            found.problems.append(Problem(rel, "unknown_label", label))
            continue
        found.labels.add(label)
        found.candidates.append(Candidate(rel, label, split, disk))
    return found


def _manifest_splits(manifest: Path, rows: list[tuple[int, dict[str, str]]]) -> list[str | None]:
    """Each row's split as train, val or test (None: empty). An unknown value refuses the whole
    manifest in one line naming its first line, so nothing is imported with a typo."""
    out: list[str | None] = []
    bad: list[tuple[int, str]] = []
    for line, row in rows:
        value = (row.get("split") or "").strip()
        split = SPLIT_ALIASES.get(value.lower()) if value else None
        if value and split is None:
            bad.append((line, value))
        out.append(split)
    if bad:
        line, value = bad[0]
        more = f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""
        raise InputError(
            f"the manifest {manifest}, line {line}: unknown split {value!r}{more}; use train, val "
            "or test (also training, valid, validation, dev, testing); nothing imported"
        )
    return out

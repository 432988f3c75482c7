"""The parsed form shared by every labelling tool's reader: images, votes, classes.

A reader (``labelstudio``, ``cvat``, ``fiftyone_io``) turns one export into a ``ForeignExport``
and raises ``bad_record`` at the first record it cannot use, before anything is written. Image
paths are resolved against the image root here (``Resolver``): each must name a file there.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labelaudit.core.consensus.votes import check_time
from labelaudit.core.errors import InputError
from labelaudit.core.paths import (
    disk_path,
    has_image_extension,
    is_hidden,
    is_within,
    nfc,
    to_relpath,
)

# Vote ids are uuid5 of the tool, its own record ids and the label: the same export read twice
# gives the same ids, so a second import adds nothing (``votes.cast_votes_in`` skips stored ids).
ID_NAMESPACE = uuid.UUID("6b0e4c1e-1f2a-4d8e-9b7c-2a9d3e4f5a61")
# A prior vote written into a review task carries its id in the annotation's result id.
PRIOR_PREFIX = "labelaudit-vote-"


@dataclass(frozen=True)
class ForeignImage:
    path: str  # relative to the image root, POSIX, NFC
    label: str | None  # the given label (None: the export gives none)
    record: str  # where it came from, for messages ("task 12")


@dataclass(frozen=True)
class ForeignVote:
    annotator: str
    path: str
    label: str
    vote_id: str
    time: float | None
    record: str


@dataclass
class ForeignExport:
    """One tool's export, validated. ``classes`` are the classes it declares (empty: it
    declares none); ``scores`` holds per-class prediction scores by path (Label Studio)."""

    fmt: str
    source: Path
    images: list[ForeignImage] = field(default_factory=list)
    votes: list[ForeignVote] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)

    def labels(self) -> set[str]:
        """Every class the export uses or declares."""
        used = {i.label for i in self.images if i.label} | {v.label for v in self.votes}
        return used | set(self.classes)


def bad_record(source: Path, record: str, what: str) -> InputError:
    return InputError(f"{source}: {record}: {what}; nothing was imported")


def stable_id(*parts: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def parse_time(value: Any) -> float | None:
    """An ISO 8601 time (a trailing Z allowed) or epoch seconds; None when absent or unusable."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return check_time(float(value))
        when = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        return check_time((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())
    except (InputError, ValueError, OverflowError, OSError):
        return None


def class_name(source: Path, record: str, value: Any, allowed: set[str] | None) -> str:
    """A label from an export as a stored class name (NFC, trimmed), checked against
    ``allowed`` (None: any)."""
    if not isinstance(value, str) or not value.strip():
        raise bad_record(source, record, f"not a class name: {value!r}")
    name = nfc(value.strip())
    if allowed is not None and name not in allowed:
        shown = ", ".join(sorted(allowed)[:10])
        raise bad_record(source, record, f"unknown class {name!r} (known: {shown})")
    return name


def parse_path_map(items: list[str] | None) -> list[tuple[str, str]]:
    """``--path-map OLD=NEW`` (repeatable): prefixes replaced in the order given."""
    out = []
    for item in items or []:
        old, sep, new = item.partition("=")
        if not sep or not old:
            raise InputError(f"--path-map takes OLD=NEW, got {item!r}")
        out.append((old, new))
    return out


class Resolver:
    """Turns an export's image reference into a stored path that names a file under the root."""

    def __init__(self, source: Path, image_root: Path, path_map: list[tuple[str, str]]) -> None:
        self.source = source
        self.root = image_root
        self.path_map = path_map
        self._names: dict[str, list[str]] | None = None

    def mapped(self, ref: str) -> str:
        for old, new in self.path_map:
            if ref.startswith(old):
                return new + ref[len(old) :]
        return ref

    def relpath(self, record: str, ref: str, *, by_name: bool = False) -> str:
        """``ref`` (after --path-map) as a path under the root that exists on disk; with
        ``by_name``, a bare file name not found at the root is looked up by name."""
        text = self.mapped(ref)
        if "://" in text:
            raise bad_record(
                self.source, record, f"cannot map {text!r} to a file: use --path-map OLD=NEW"
            )
        try:
            rel = to_relpath(text, self.root)
        except InputError as exc:
            raise bad_record(self.source, record, str(exc)) from None
        full = disk_path(self.root, rel)
        if not full.is_file():
            if by_name and "/" not in rel:
                return self.by_name(record, rel)
            raise bad_record(self.source, record, f"unknown image {rel!r}: not under {self.root}")
        if not is_within(full, self.root):  # the import would refuse it (symlink_outside_root)
            raise bad_record(self.source, record, f"{rel!r} links to a file outside {self.root}")
        return rel

    def by_name(self, record: str, name: str) -> str:
        """The one image under the root called ``name`` (an upload keeps only the file name)."""
        if self._names is None:
            self._names = {}
            for folder, dirs, files in os.walk(self.root):
                dirs[:] = sorted(d for d in dirs if not is_hidden(d))
                for f in files:
                    if has_image_extension(f) and not is_hidden(f):
                        rel = Path(folder, f).relative_to(self.root).as_posix()
                        self._names.setdefault(nfc(f), []).append(nfc(rel))
        found = self._names.get(nfc(name), [])
        if len(found) != 1:
            what = "no image" if not found else f"{len(found)} images"
            raise bad_record(
                self.source,
                record,
                f"{what} called {name!r} under {self.root}: use --path-map OLD=NEW",
            )
        return found[0]

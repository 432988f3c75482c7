"""Whether a folder is a previous export that ``--force`` may replace, and removing one safely.

A folder is ours only if every file in it is listed, with a matching sha256, in its own
``provenance.json`` (which lists every file an export writes but itself), and that
provenance.json is intact (``self_sha256``, a hash of its canonical JSON, written since format
1.1; older ones must list at least one file that is still there, unchanged). Folders must be
split or class folders of the export, or hold listed files. In a symlink-mode export, a listed
symbolic link counts as written: removing a link never touches what it points to. Anything
else makes the folder the user's, and ``--force`` refuses it naming the first foreign entry:
refusing (rather than moving foreign files aside) leaves the user's files exactly where they
put them and lets them decide.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelaudit.core.errors import InputError
from labelaudit.core.export.files import sha256_file

PROVENANCE = "provenance.json"
SELF_HASH = "self_sha256"

Entry = tuple[str, int, int, int, bool]  # relative path, size, mtime_ns, inode, is a link


@dataclass(frozen=True)
class Snapshot:
    """A verified export as it was: compared again once it has been renamed aside."""

    root_id: tuple[int, int]  # st_dev, st_ino of the folder
    entries: frozenset[Entry]


def provenance_digest(prov: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``prov`` without its own ``self_sha256``."""
    body = {k: v for k, v in prov.items() if k != SELF_HASH}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def folder_id(path: Path) -> tuple[int, int]:
    st = os.lstat(path)
    return st.st_dev, st.st_ino


def read_provenance(folder: Path) -> dict[str, Any] | None:
    """The folder's provenance.json if labelaudit could have written it, else None."""
    path = folder / PROVENANCE
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "labelaudit_version" not in data:
        return None
    sha = data.get("sha256")
    if not isinstance(sha, dict) or not sha or not all(isinstance(v, str) for v in sha.values()):
        return None
    return data


def verify_previous_export(folder: Path, *, require_match: bool = True) -> Snapshot:
    """A snapshot of ``folder`` if every file in it is labelaudit's; InputError naming the
    first foreign entry otherwise. ``require_match`` (off only for a half-removed export that
    was verified before) asks for at least one listed file still there, unchanged. Names are
    checked before any file is hashed, so a foreign file is refused at once."""
    prov = read_provenance(folder)
    if prov is None:
        raise InputError(
            f"{folder} is not a labelaudit export (no {PROVENANCE} written by labelaudit); "
            "--force only replaces a previous export"
        )
    if SELF_HASH in prov and prov[SELF_HASH] != provenance_digest(prov):
        raise _refused(folder, f"its {PROVENANCE} was changed since labelaudit wrote it")
    listed: dict[str, str] = prov["sha256"]
    dirs = _expected_dirs(prov, listed)
    walked = _walk(folder)
    for rel, _path, st in walked:
        known = rel in dirs if stat.S_ISDIR(st.st_mode) else rel in listed or rel == PROVENANCE
        if not known:
            shown = rel + "/" if stat.S_ISDIR(st.st_mode) else rel
            raise _refused(
                folder,
                f"it holds {shown}, which labelaudit did not write (not in its {PROVENANCE})",
            )
    symlinks_ok = isinstance(prov.get("files"), dict) and prov["files"].get("mode") == "symlink"
    matched = 0
    for rel, path, st in walked:
        if stat.S_ISDIR(st.st_mode) or rel == PROVENANCE:
            continue
        link = stat.S_ISLNK(st.st_mode) and symlinks_ok  # removing a link loses nothing
        if not link and (not stat.S_ISREG(st.st_mode) or _sha256(folder, path) != listed[rel]):
            raise _refused(
                folder,
                f"{rel} was changed since labelaudit wrote it (its sha256 is not the one in "
                f"{PROVENANCE})",
            )
        matched += 1
    if require_match and matched == 0 and SELF_HASH not in prov:
        raise InputError(
            f"{folder} is not a labelaudit export (none of the files its {PROVENANCE} lists is "
            "there); --force only replaces a previous export"
        )
    return Snapshot(folder_id(folder), frozenset(_entry(rel, st) for rel, _p, st in walked))


def _refused(folder: Path, why: str) -> InputError:
    return InputError(
        f"--force refused: {folder} is not only a previous export: {why}; move that out of "
        "the folder or choose another --out"
    )


def _sha256(folder: Path, path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError as exc:
        raise InputError(f"cannot read {path} in {folder}: {exc.strerror or exc}") from None


def _expected_dirs(prov: dict[str, Any], listed: dict[str, str]) -> set[str]:
    dirs: set[str] = set()
    for rel in listed:
        parts = rel.split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    splits = prov.get("splits", {}).get("names", []) if isinstance(prov.get("splits"), dict) else []
    classes = prov.get("classes", [])
    folders = [c.get("folder") for c in classes if isinstance(c, dict)]
    for split in (s for s in splits if isinstance(s, str)):
        dirs.add(split)
        dirs.update(f"{split}/{f}" for f in folders if isinstance(f, str))
    return dirs


def _entry(rel: str, st: os.stat_result) -> Entry:
    if stat.S_ISDIR(st.st_mode):  # a folder's size and time change with what it holds
        return (rel + "/", 0, 0, st.st_ino, False)
    return (rel, st.st_size, st.st_mtime_ns, st.st_ino, stat.S_ISLNK(st.st_mode))


def _walk(folder: Path) -> list[tuple[str, Path, os.stat_result]]:
    """Every entry under ``folder`` (relative posix path, path, lstat), parents first, sorted;
    links are not followed."""
    out: list[tuple[str, Path, os.stat_result]] = []

    def visit(path: Path, rel: str) -> None:
        for name in sorted(os.listdir(path)):
            child, child_rel = path / name, f"{rel}{name}"
            st = os.lstat(child)
            out.append((child_rel, child, st))
            if stat.S_ISDIR(st.st_mode):
                visit(child, f"{child_rel}/")

    try:
        visit(folder, "")
    except OSError as exc:
        raise InputError(f"cannot read {folder}: {exc.strerror or exc}") from None
    return out


def snapshot_of(folder: Path) -> Snapshot:
    """The same snapshot as ``verify_previous_export`` takes, by listing only (no hashing)."""
    entries = {_entry(rel, st) for rel, _path, st in _walk(folder)}
    return Snapshot(folder_id(folder), frozenset(entries))


def first_difference(a: Snapshot, b: Snapshot) -> str:
    changed = sorted({e[0] for e in a.entries ^ b.entries})
    return changed[0] if changed else "the folder itself"


def remove_export(folder: Path) -> None:
    """Remove a verified export, its provenance.json last, so that an export whose removal was
    cut short can still be recognised (and removed) later."""
    for child in sorted(os.listdir(folder)):
        if child == PROVENANCE:
            continue
        path = folder / child
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    (folder / PROVENANCE).unlink(missing_ok=True)
    folder.rmdir()

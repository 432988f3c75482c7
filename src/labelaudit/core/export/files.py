"""Putting image files into the export: copies, hard links or relative symbolic links.

Each source is read once: the copy is written and hashed in one pass, and the hash is compared
with the one taken at import, so a file changed since then is reported. GIFs are converted to PNG
(torchvision's ImageFolder skips ``.gif``). Oversampled repeats are hard links to the first copy
inside the export (a plain copy where the file system has no hard links); in symlink mode they
point at the source like their first copy. Sources are only ever opened for reading.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from labelaudit.core.errors import InputError

CHUNK = 1024 * 1024
BATCH = 512
CONVERT_TO_PNG = frozenset({".gif"})


@dataclass(frozen=True)
class FileJob:
    """One file to put at ``dest`` (relative to the export folder)."""

    dest: str
    source: Path  # the source image on disk
    expected_sha256: str | None  # from the import, to notice files changed since
    link_to: str | None = None  # for a repeat: the dest of the first copy


@dataclass(frozen=True)
class Written:
    dest: str
    sha256: str
    changed_since_import: bool


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def needs_png(source: Path) -> bool:
    return source.suffix.lower() in CONVERT_TO_PNG


def place_files(
    jobs: list[FileJob],
    out_dir: Path,
    *,
    mode: str,
    workers: int = 4,
    on_done: Callable[[int], None] | None = None,
) -> dict[str, Written]:
    """Write every job under ``out_dir``; returns {dest: Written}. First copies, then repeats."""
    primaries = [j for j in jobs if j.link_to is None]
    repeats = [j for j in jobs if j.link_to is not None]
    for folder in sorted({str(Path(j.dest).parent) for j in jobs}):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    results: dict[str, Written] = {}

    def one(job: FileJob) -> Written:
        return _place_primary(job, out_dir, mode)

    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        # Bounded batches: a million pending futures would cost more memory than the files.
        for start in range(0, len(primaries), BATCH):
            for done in pool.map(one, primaries[start : start + BATCH]):
                results[done.dest] = done
                if on_done is not None:
                    on_done(1)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for job in repeats:
        primary = results[job.link_to or ""]
        _place_repeat(job, primary.dest, out_dir, mode)
        results[job.dest] = Written(job.dest, primary.sha256, primary.changed_since_import)
        if on_done is not None:
            on_done(1)
    return results


def _place_primary(job: FileJob, out_dir: Path, mode: str) -> Written:
    dest = out_dir / job.dest
    try:
        if needs_png(job.source):
            source_sha = sha256_file(job.source)
            _convert_to_png(job.source, dest)
            return Written(job.dest, sha256_file(dest), _changed(job, source_sha))
        if mode == "copy":
            sha = _copy_hashing(job.source, dest)
        else:
            sha = sha256_file(job.source)
            _link(job.source, dest, mode)
    except FileNotFoundError:
        raise InputError(
            f"the source image {job.source} disappeared during the export; run "
            "'labelaudit import' and export again"
        ) from None
    return Written(job.dest, sha, _changed(job, sha))


def _changed(job: FileJob, sha: str) -> bool:
    return job.expected_sha256 is not None and job.expected_sha256 != sha


def _copy_hashing(source: Path, dest: Path) -> str:
    digest = hashlib.sha256()
    with open(source, "rb") as src, open(dest, "xb") as dst:
        while block := src.read(CHUNK):
            digest.update(block)
            dst.write(block)
    return digest.hexdigest()


def _link(source: Path, dest: Path, mode: str) -> None:
    if mode == "hardlink":
        try:
            os.link(source, dest)
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise InputError(
                    f"--mode hardlink cannot link {source} into {dest.parent} ({exc.strerror}); "
                    "hard links need the export on the same file system as the images: use "
                    "--mode copy or symlink"
                ) from None
            raise
    elif mode == "symlink":
        target = os.path.relpath(os.path.realpath(source), os.path.realpath(dest.parent))
        os.symlink(target, dest)
    else:
        raise ValueError(f"unknown file mode {mode!r}")


def _place_repeat(job: FileJob, primary_dest: str, out_dir: Path, mode: str) -> None:
    dest = out_dir / job.dest
    primary = out_dir / primary_dest
    if mode == "symlink" and primary.is_symlink():
        os.symlink(os.readlink(primary), dest)
        return
    try:
        os.link(primary, dest)
    except OSError:  # no hard links here (some network or FAT file systems): a plain copy
        shutil.copyfile(primary, dest)


def _convert_to_png(source: Path, dest: Path) -> None:
    from PIL import Image, ImageOps

    with Image.open(source) as im:
        im.seek(0)
        frame = ImageOps.exif_transpose(im)
        keep_alpha = frame.mode in ("RGBA", "LA") or "transparency" in frame.info
        converted = frame.convert("RGBA" if keep_alpha else "RGB")
        with open(dest, "xb") as fh:
            converted.save(fh, format="PNG")

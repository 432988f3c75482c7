"""Bring-your-own predictions and embeddings: reading and checking --pred-probs, --embeddings.

**Row order.** A ``.npy`` holds one row per valid image (status ok and labelled), the images
sorted by path: Python ``sorted()`` of the stored paths (relative to the image root, ``/``
separators, Unicode NFC). ``labelaudit issues PROJECT --all --order path`` prints exactly that
order (before any scan too). Columns follow the class index: ``sorted()`` of the class names.
A CSV instead names its rows: a ``path`` column (relative, or absolute under the image root) and
one column per class name, in any order. ``--embeddings`` rows follow the rows of a CSV given to
``--pred-probs``, and the documented row order otherwise.

Everything is checked before anything is stored; each failure is one ``InputError`` line.

**Memory.** A ``.npy`` is memory-mapped and read ``CHUNK_MB`` of float64 rows at a time with file
reads (core/rowfile.py); every row's sum and minimum are kept so that the error reported is the
one a check of the whole array reports. The checked float32 rows are gathered in catalog order
into one array, or, above the batched audit's threshold, into a temporary file that is returned
memory-mapped (the audit, audit/batched.py, and the store, store/arrays.py, read it in chunks).
"""

from __future__ import annotations

import math
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from labelaudit.core.errors import InputError, LabelauditError
from labelaudit.core.paths import to_relpath
from labelaudit.core.rowfile import read_rows, write_rows_at
from labelaudit.core.scratch import scratch_folder

ROW_SUM_TOLERANCE = 1e-3
# Rows this far from summing to 1 are not slightly-off probabilities but scores of another kind.
LOGIT_ROW_SUM_GAP = 0.05
MAX_LISTED = 3
CHUNK_MB = 16  # float64 rows checked at a time (a few copies of them are made)


def documented_row_order(paths: Sequence[str]) -> np.ndarray:
    """int64 (N,): catalog row indices in the documented order (sorted paths)."""
    return np.asarray(sorted(range(len(paths)), key=paths.__getitem__), dtype=np.int64)


def _listed(items: Sequence[object]) -> str:
    shown = ", ".join(str(x) for x in items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def load_npy(path: Path, *, what: str) -> np.ndarray:
    """The .npy memory-mapped read-only: rows are read when they are used, never all at once."""
    if not path.is_file():
        raise InputError(f"{what} file not found: {path}")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{path} is not a readable .npy array ({exc})") from None
    if not isinstance(array, np.ndarray) or array.ndim != 2:
        shape = getattr(array, "shape", None)
        if hasattr(array, "close"):  # an .npz archive holds its file open
            array.close()
        raise InputError(f"{what} in {path} must be a 2-D array (N x columns), got shape {shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise InputError(f"{what} in {path} must be numbers, got dtype {array.dtype}")
    return array


class _RowChecks:
    """What the checks need of every row, gathered block by block: a problem in a later block can
    be the one reported first, so the verdict comes after the last block."""

    def __init__(self, n: int) -> None:
        self.sums = np.empty(n, dtype=np.float64)
        self.row_min = np.empty(n, dtype=np.float64)
        self.high = -np.inf
        self.not_finite: list[np.ndarray] = []

    def add(self, start: int, block: np.ndarray) -> np.ndarray:
        """float32 rows of ``block`` (float64, rows ``start``...) renormalised (if they pass)."""
        rows = slice(start, start + len(block))
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            self.not_finite.append(np.flatnonzero(bad) + start)
        self.sums[rows] = block.sum(axis=1)
        self.row_min[rows] = block.min(axis=1)
        self.high = max(self.high, float(block.max()))
        with np.errstate(divide="ignore", invalid="ignore"):  # rows summing to 0 fail below
            return (block / self.sums[rows, None]).astype(np.float32)

    def verdict(self, source: Path) -> None:
        """InputError for the first problem found over all the rows."""
        if self.not_finite:
            bad_rows = np.concatenate(self.not_finite).tolist()
            raise InputError(f"{source}: NaN or infinite values in rows {_listed(bad_rows)}")
        sums, row_min = self.sums, self.row_min
        gap = np.abs(sums - 1)
        if row_min.min() < 0 and gap.max() <= ROW_SUM_TOLERANCE:
            rows = np.flatnonzero(row_min < 0).tolist()
            raise InputError(f"{source}: negative probabilities in rows {_listed(rows)}")
        if row_min.min() < 0 or self.high > 1 or gap.max() > LOGIT_ROW_SUM_GAP:
            worst = int(np.argmax(gap))
            raise InputError(
                f"{source}: these look like logits or scores, not probabilities (values in "
                f"[{row_min.min():.3g}, {self.high:.3g}], row {worst} sums to {sums[worst]:.4g}); "
                "apply softmax"
            )
        if gap.max() > ROW_SUM_TOLERANCE:
            worst = int(np.argmax(gap))
            raise InputError(
                f"{source}: rows must sum to 1 within {ROW_SUM_TOLERANCE:g}; row {worst} sums to "
                f"{sums[worst]:.6g}"
            )


def check_pred_probs(
    pred_probs: np.ndarray, *, n: int, k: int, source: Path, chunk_mb: float = CHUNK_MB
) -> np.ndarray:
    """float32 (N, K) rows renormalised, same row order, or InputError for the first problem."""
    return _checked(pred_probs, np.arange(n), n=n, k=k, source=source, chunk_mb=chunk_mb)


def _checked(
    values: np.ndarray,
    position: np.ndarray,
    *,
    n: int,
    k: int,
    source: Path,
    chunk_mb: float,
    spill: Path | None = None,
) -> np.ndarray:
    """The checked, renormalised float32 rows of ``values`` (read ``chunk_mb`` of float64 at a
    time), row ``i`` at row ``position[i]``: in memory, or written to the file ``spill`` and
    returned memory-mapped."""
    if values.shape != (n, k):
        raise InputError(
            f"{source}: pred_probs have shape {values.shape[0]} x {values.shape[1]}, "
            f"the project has {n} valid images x {k} classes"
        )
    checks = _RowChecks(n)
    blocks = ((start, checks.add(start, block)) for start, block in _float_rows(values, chunk_mb))
    if spill is None:
        out = np.empty((n, k), dtype=np.float32)
        for start, block in blocks:
            out[position[start : start + len(block)]] = block
        checks.verdict(source)
        return out
    write_rows_at(blocks, position, str(spill), n=n, k=k)
    checks.verdict(source)
    return np.memmap(spill, dtype=np.float32, mode="r", shape=(n, k))


def _float_rows(values: np.ndarray, chunk_mb: float) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, float64 block of ``chunk_mb``) over the rows of a 2-D array."""
    n, k = values.shape
    step = max(1, int(chunk_mb * 2**20 // (8 * max(k, 1))))
    for start in range(0, n, step):
        yield start, read_rows(values, start, start + step).astype(np.float64, copy=False)


def check_embeddings(embeddings: np.ndarray, *, n: int, source: Path) -> np.ndarray:
    if embeddings.shape[0] != n:
        raise InputError(
            f"{source}: embeddings have {embeddings.shape[0]} rows, the project has {n} valid "
            "images (rows follow the --pred-probs rows, else the documented path order)"
        )
    if embeddings.shape[1] < 1:
        raise InputError(f"{source}: embeddings have no columns")
    values = np.asarray(embeddings, dtype=np.float32)
    bad_rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad_rows.size:
        raise InputError(f"{source}: NaN or infinite values in rows {_listed(bad_rows.tolist())}")
    return values


def read_pred_probs(
    path: Path,
    *,
    paths: Sequence[str],
    class_names: Sequence[str],
    image_root: Path,
    spill_above_mb: float = math.inf,
    chunk_mb: float = CHUNK_MB,
) -> tuple[np.ndarray, np.ndarray]:
    """(float32 (N, K) pred_probs in catalog row order, int64 (N,) the file's row of each image).

    ``paths`` are the catalog's (valid images, catalog order). A .npy is memory-mapped and checked
    ``chunk_mb`` at a time (a CSV is read whole). A result over ``spill_above_mb`` is written to
    a temporary folder (when it has room) and returned memory-mapped, for the audit's chunked
    path; the folder is removed with the array (or at exit).
    """
    if path.suffix.lower() == ".csv":
        file_rows, values = _read_csv(path, paths=paths, class_names=class_names, root=image_root)
    else:
        values = load_npy(path, what="pred_probs")
        file_rows = np.empty(len(paths), dtype=np.int64)
        file_rows[documented_row_order(paths)] = np.arange(len(paths))
    n, k = len(paths), len(class_names)
    position = np.empty(n, dtype=np.int64)  # the catalog row of each file row
    position[file_rows] = np.arange(n)
    folder = _spill_folder(nbytes=4 * n * k, above_mb=spill_above_mb)
    try:
        spill = None if folder is None else folder / "pred_probs.f32"
        checked = _checked(values, position, n=n, k=k, source=path, chunk_mb=chunk_mb, spill=spill)
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    if folder is not None:  # the file lives as long as the array (the scan's publishing)
        weakref.finalize(checked, shutil.rmtree, folder, ignore_errors=True)
    return checked, file_rows


def _spill_folder(*, nbytes: int, above_mb: float) -> Path | None:
    """A new temporary folder for a result over ``above_mb``, unless the disk lacks the room
    (then the result is kept in memory, as a smaller one is)."""
    if nbytes <= above_mb * 2**20:
        return None
    if shutil.disk_usage(tempfile.gettempdir()).free < 1.2 * nbytes:
        return None
    return scratch_folder("labelaudit-pred-probs-")


def read_embeddings(path: Path, *, file_rows: np.ndarray) -> np.ndarray:
    """float32 (N, D) embeddings in catalog row order; ``file_rows[i]`` is image i's file row."""
    values = check_embeddings(load_npy(path, what="embeddings"), n=len(file_rows), source=path)
    return values[file_rows]


def _read_csv(
    path: Path, *, paths: Sequence[str], class_names: Sequence[str], root: Path
) -> tuple[np.ndarray, np.ndarray]:
    """(int64 (N,) file row of each catalog image, float64 (N, K) values in file row order)."""
    import pandas as pd

    if not path.is_file():
        raise InputError(f"pred_probs file not found: {path}")
    try:
        table = pd.read_csv(path, dtype={"path": str}, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{path} is not a readable CSV ({str(exc).splitlines()[0]})") from None
    columns = [str(c).strip() for c in table.columns]
    if "path" not in columns:
        raise InputError(f"{path}: a pred_probs CSV needs a 'path' column and one per class")
    table.columns = columns
    given = [c for c in columns if c != "path"]
    missing = [c for c in class_names if c not in given]
    unknown = [c for c in given if c not in class_names]
    if missing or unknown or len(set(given)) != len(given):
        raise InputError(
            f"{path}: the class columns must be exactly the project's classes "
            f"({_listed(list(class_names))}); missing: {_listed(missing) or 'none'}, "
            f"unknown or repeated: {_listed(unknown) or 'none'}"
        )
    file_rows = _match_paths(table["path"].tolist(), paths=paths, root=root, source=path)
    try:
        values = table[list(class_names)].to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        raise InputError(f"{path}: class columns must hold numbers") from None
    return file_rows, values


def _match_paths(
    listed: list[str], *, paths: Sequence[str], root: Path, source: Path
) -> np.ndarray:
    index = {p: i for i, p in enumerate(paths)}
    file_rows = np.full(len(paths), -1, dtype=np.int64)
    unknown: list[str] = []
    repeated: list[str] = []
    for row, text in enumerate(listed):
        try:
            rel = to_relpath(text, root)
        except LabelauditError:
            unknown.append(text)
            continue
        i = index.get(rel)
        if i is None:
            unknown.append(text)
        elif file_rows[i] >= 0:
            repeated.append(text)
        else:
            file_rows[i] = row
    if unknown:
        raise InputError(
            f"{source}: {len(unknown)} paths are not valid images of the project: "
            f"{_listed(unknown)}"
        )
    if repeated:
        raise InputError(f"{source}: {len(repeated)} paths appear twice: {_listed(repeated)}")
    absent = [paths[int(i)] for i in np.flatnonzero(file_rows < 0)]
    if absent:
        raise InputError(f"{source}: {len(absent)} valid images have no row: {_listed(absent)}")
    return file_rows

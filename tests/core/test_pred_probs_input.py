"""``--pred-probs`` .npy files of any size: memory-mapped, checked in row blocks, reordered on
disk above the batched audit's threshold, stored chunk by chunk (audit/inputs.py,
core/rowfile.py, store/arrays.py)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from helpers import make_tree
from labelaudit.core.audit import inputs
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.errors import InputError
from labelaudit.core.project import Project
from labelaudit.core.store import arrays as arrays_mod
from labelaudit.core.store.arrays import get_array, put_array
from labelaudit.core.store.scan_results import load_results
from labelaudit.core.store.schema import arrays as arrays_table
from labelaudit.core.store.schema import scans
from labelaudit.core.usecases.scan import ScanRequest, run_scan

N, K = 60, 3
PATHS = [f"img/{i:03d}.png" for i in np.random.default_rng(5).permutation(N)]  # catalog order
TWO_ROWS_MB = 2 * K * 8 / 2**20  # chunk_mb for blocks of 2 float64 rows


@pytest.fixture
def spill_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder (TMPDIR) where large pred_probs are copied in catalog order."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def probs(n: int = N, k: int = K, seed: int = 0) -> np.ndarray:
    p = np.random.default_rng(seed).dirichlet(np.ones(k), n)
    return p / p.sum(axis=1, keepdims=True)


def read(path: Path, **options: object) -> tuple[np.ndarray, np.ndarray]:
    return inputs.read_pred_probs(
        path, paths=PATHS, class_names=["a", "b", "c"], image_root=path.parent, **options
    )  # type: ignore[arg-type]


LAST_ROWS_BAD = {
    "nan": lambda p: p.__setitem__((N - 2, 1), np.nan),
    "infinite": lambda p: p.__setitem__((N - 1, 0), -np.inf),
    "negative": lambda p: p.__setitem__(N - 1, [1.2, -0.2, 0.0]),
    "logits": lambda p: p.__setitem__(N - 1, [2.5, -1.0, 0.3]),
    "not_summing": lambda p: p.__setitem__(N - 3, [0.5, 0.3, 0.21]),
    "above_one": lambda p: p.__setitem__(N - 1, [1.5, 0.0, 0.0]),
}


@pytest.mark.parametrize("case", sorted(LAST_ROWS_BAD))
def test_npy_is_memory_mapped_and_bad_rows_in_a_later_chunk_are_refused_alike(
    tmp_path: Path, spill_root: Path, case: str
) -> None:
    values = probs()
    LAST_ROWS_BAD[case](values)
    path = tmp_path / "p.npy"
    np.save(path, values)
    assert isinstance(inputs.load_npy(path, what="pred_probs"), np.memmap)
    with pytest.raises(InputError) as whole:  # the whole array at once, as before
        inputs.check_pred_probs(values, n=N, k=K, source=path, chunk_mb=1e6)
    for spill_above_mb in (math.inf, 0):  # 30 blocks of 2 rows: the bad ones are in the last
        with pytest.raises(InputError) as chunked:
            read(path, chunk_mb=TWO_ROWS_MB, spill_above_mb=spill_above_mb)
        assert str(chunked.value) == str(whole.value) and "\n" not in str(whole.value)
    assert list(spill_root.iterdir()) == []  # the temporary copy of the bad rows is gone


def test_bad_rows_in_several_chunks_are_all_counted() -> None:
    values = probs()
    values[[1, 30, 57, 58], 2] = np.nan
    with pytest.raises(InputError, match=r"rows 1, 30, 57 and 1 more$"):
        inputs.check_pred_probs(values, n=N, k=K, source=Path("p.npy"), chunk_mb=TWO_ROWS_MB)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.dtype(">f8")])
def test_chunked_and_spilled_reads_equal_the_whole_array_read(
    tmp_path: Path, spill_root: Path, dtype: np.dtype
) -> None:
    values = (probs() * 1.0004).astype(dtype)  # rows off by 4e-4: renormalised
    path = tmp_path / "p.npy"
    np.save(path, values)
    whole = inputs.check_pred_probs(np.asarray(values), n=N, k=K, source=path, chunk_mb=1e6)
    expected = whole[np.argsort(np.argsort(PATHS))]  # catalog row i = sorted-path row of PATHS[i]
    memory, rows = read(path, chunk_mb=TWO_ROWS_MB)
    spilled, rows_again = read(path, chunk_mb=TWO_ROWS_MB, spill_above_mb=0)
    assert not isinstance(memory, np.memmap) and memory.dtype == np.float32
    assert isinstance(spilled, np.memmap) and Path(spilled.filename).parent.parent == spill_root
    assert np.array_equal(memory, expected) and np.array_equal(spilled, expected)
    assert np.array_equal(rows, rows_again) and np.array_equal(memory[0], whole[rows[0]])
    kept, _ = read(path, spill_above_mb=1)  # under the threshold: in memory
    assert not isinstance(kept, np.memmap)
    del spilled
    assert list(spill_root.iterdir()) == []  # the file goes with the array


@pytest.mark.parametrize("shape", [(1000, 13), (40, 4, 3)])
def test_memory_mapped_arrays_are_stored_chunk_by_chunk(
    tmp_path: Path, backend: str | None, monkeypatch: pytest.MonkeyPatch, shape: tuple[int, ...]
) -> None:
    monkeypatch.setattr(arrays_mod, "CHUNK_BYTES", 256)
    data = np.random.default_rng(1).random(shape).astype(np.float32)
    np.save(tmp_path / "a.npy", data)
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    root = make_tree(tmp_path / "images", {"a": 1, "b": 1})
    with Project.create(tmp_path / "proj", root, db_url=backend) as project:
        project.store.write(lambda c: put_array(c, "scan:1", "pred_probs", mapped))
        with project.store.read() as conn:
            back = get_array(conn, "scan:1", "pred_probs")
            chunks = conn.execute(sa.select(sa.func.count()).select_from(arrays_table)).scalar()
    assert back is not None and np.array_equal(back, data) and back.shape == shape
    rows_per_chunk = 256 // (data.nbytes // shape[0])
    assert chunks == -(-shape[0] // rows_per_chunk)  # as many chunks as for an in-memory array


def test_own_predictions_scan_through_the_disk_copy_equals_the_in_memory_one(
    tmp_path: Path, spill_root: Path
) -> None:
    root = make_tree(tmp_path / "images", {"ant": 12, "bee": 12, "cow": 12})
    with Project.create(tmp_path / "proj", root) as project:
        project.import_images(workers=1)
        catalog = load_catalog(project.store, valid_only=True)
        assert catalog.paths is not None
        order = inputs.documented_row_order(catalog.paths)
        values = 0.2 * probs(len(order), 3, seed=2)
        values[np.arange(len(order)), catalog.labels[order]] += 0.8
        values[[4, 20], :] = values[[4, 20], ::-1]  # two confident disagreements
        np.save(tmp_path / "p.npy", values)
        outcomes = []
        for above_mb in (512.0, 0.0):  # in memory, then through the disk copy
            request = ScanRequest(pred_probs=tmp_path / "p.npy", batch_above_mb=above_mb)
            outcomes.append(run_scan(project.store, project.image_root, request))
            assert list(spill_root.iterdir()) == []  # the copy went with the scan
        memory, spilled = (load_results(project.store, o.scan_id) for o in outcomes)
        np.save(tmp_path / "bad.npy", np.where(np.arange(36)[:, None] == 35, -values, values))
        with pytest.raises(InputError, match="apply softmax"):
            run_scan(
                project.store,
                project.image_root,
                ScanRequest(pred_probs=tmp_path / "bad.npy", batch_above_mb=0.0),
            )
        with project.store.read() as conn:
            n_scans = conn.execute(sa.select(sa.func.count()).select_from(scans)).scalar()
    assert memory is not None and spilled is not None and n_scans == 2
    assert list(spill_root.iterdir()) == []
    assert np.array_equal(memory.pred_probs, spilled.pred_probs)
    assert np.array_equal(memory.is_label_issue, spilled.is_label_issue)
    assert outcomes[1].summary["audit_method"]["read_from_file"] is True


CHILD = """
import json, resource, sys
from pathlib import Path
import numpy as np
from labelaudit.core.audit import inputs
path, n = Path(sys.argv[1]), int(sys.argv[2])
paths = [f"{i:07d}.png" for i in range(n)]
names = [f"c{j:03d}" for j in range(200)]
inputs.documented_row_order(paths)  # its temporaries before the first figure
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out, _ = inputs.read_pred_probs(path, paths=paths, class_names=names, image_root=path.parent,
                                spill_above_mb=0, chunk_mb=2)
assert isinstance(out, np.memmap) and float(out[-1].sum()) > 0.99
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_mb": (after - before) / 1024}))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in kB on Linux")
def test_a_large_npy_is_read_without_holding_it_in_memory(tmp_path: Path) -> None:
    """80 MB of float64 pred_probs: the reading process grows by a few MB, not by the array
    (it grew by about 5x the array when the file was loaded whole and copied)."""
    n = 50_000
    values = np.full((n, 200), 1 / 200)
    np.save(tmp_path / "p.npy", values)
    del values
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "p.npy"), str(n)],
        capture_output=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        text=True,
        check=True,
    )
    grew = json.loads(proc.stdout)["grew_mb"]
    assert grew < 20, grew

"""Import under faults: dead workers, a killed parent, a memory limit, symlink loops, NFC/NFD twins.

Real processes throughout: workers are killed with SIGKILL (from outside, or by the clearly named
test hook ``LABELAUDIT_TEST_KILL_WORKER_ON`` that makes a worker kill itself on one file name, as
the OOM killer would), the parent is killed with SIGKILL, memory is limited with RLIMIT_AS.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import multiprocessing.queues
import os
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from helpers import cli_executable, make_tree, run_cli, write_image
from labelaudit.core.dataset import workers
from labelaudit.core.dataset.workers import CRASH_ENV, POOL_MIN_FILES, _worker_setup
from labelaudit.core.paths import disk_path
from labelaudit.core.project import Project
from labelaudit.core.store.schema import images
from labelaudit.core.views.project_info import project_info

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")


def _rows(project: Project) -> dict[str, dict]:
    with project.store.read() as conn:
        return {r["path"]: dict(r) for r in conn.execute(sa.select(images)).mappings()}


def _pool_tree(root: Path, *, slow: int = 0) -> Path:
    """Enough small images for the worker pool, plus ``slow`` large flat PNGs (about 1 s of
    decoding each, 0.2 MB on disk) that keep the workers busy."""
    make_tree(root, {"a": POOL_MIN_FILES // 2 + 8, "b": POOL_MIN_FILES // 2 + 8})
    if slow:
        first = root / "a" / "slow_0.png"
        Image.new("RGB", (4000, 4000), (90, 140, 30)).save(first, compress_level=1)
        for i in range(1, slow):
            shutil.copy(first, root / "b" / f"slow_{i}.png")
    return root


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


def _wait_for_workers(proc: subprocess.Popen[str], n: int, *, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = [k for k in _children(proc.pid) if _alive(k)]
        if len(kids) >= n:
            return kids
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the import's workers did not start")


def test_a_file_that_kills_its_worker_is_recorded_and_the_rest_imported(tmp_path: Path) -> None:
    root = _pool_tree(tmp_path / "images")
    write_image(root / "b" / "killer.png", seed=99)
    proc = run_cli(
        "init",
        tmp_path / "proj",
        "--images",
        root,
        "--workers",
        "2",
        "--json",
        env={CRASH_ENV: "killer.png"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["problems"] == {"worker_crashed": 1}
    assert any(p.startswith("b/killer.png") for p in report["problem_paths"])
    project = Project.open(tmp_path / "proj")
    try:
        rows = _rows(project)
    finally:
        project.close()
    assert rows["b/killer.png"]["status"] == "broken"
    assert rows["b/killer.png"]["problem"] == "worker_crashed"
    assert sum(r["status"] == "ok" for r in rows.values()) == len(rows) - 1 == POOL_MIN_FILES + 16


def test_a_worker_killed_from_outside_is_replaced(tmp_path: Path) -> None:
    root = _pool_tree(tmp_path / "images", slow=4)
    cmd = [cli_executable(), "init", str(tmp_path / "proj"), "--images", str(root), "--json"]
    proc = subprocess.Popen(
        [*cmd, "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    victim = _wait_for_workers(proc, 2)[0]
    os.kill(victim, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    report = json.loads(out)
    assert report["problems"] == {}  # its files were retried in a fresh worker
    assert report["new"] == POOL_MIN_FILES + 16 + 4


def _blas_threads_in_a_worker(queue: multiprocessing.queues.Queue) -> None:
    from threadpoolctl import threadpool_info

    _worker_setup(os.getppid())
    vector = np.arange(200_000, dtype=np.float64)
    np.dot(vector, vector)  # long enough for OpenBLAS to use its threads
    queue.put([pool["num_threads"] for pool in threadpool_info()])


def test_import_workers_run_native_thread_pools_on_one_thread() -> None:
    """N workers on N cores each spinning N BLAS threads made photo imports 4x slower."""
    pytest.importorskip("threadpoolctl")
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    worker = ctx.Process(target=_blas_threads_in_a_worker, args=(queue,))
    worker.start()
    counts = queue.get(timeout=60)
    worker.join()
    assert counts and set(counts) == {1}


def test_workers_exit_when_the_import_is_killed_and_info_says_interrupted(tmp_path: Path) -> None:
    root = tmp_path / "images"
    make_tree(root, {"a": 2})
    run_cli("init", tmp_path / "proj", "--images", root, check=True)
    _pool_tree(root, slow=4)
    proc = subprocess.Popen(
        [cli_executable(), "import", str(tmp_path / "proj"), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = _wait_for_workers(proc, 2)
    time.sleep(0.3)  # the workers are decoding
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 2.0
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "workers outlived the killed import by 2 s"

    info = run_cli("info", tmp_path / "proj", "--json", check=True)
    unfinished = json.loads(info.stdout)["unfinished_imports"]
    assert [u["status"] for u in unfinished] == ["interrupted"]
    assert "INTERRUPTED" in run_cli("info", tmp_path / "proj", check=True).stdout
    # The next import runs, and the interrupted one stays recorded as such.
    run_cli("import", tmp_path / "proj", check=True, timeout=120)
    info = json.loads(run_cli("info", tmp_path / "proj", "--json", check=True).stdout)
    assert info["unfinished_imports"] == []
    assert info["last_import"]["new"] == POOL_MIN_FILES + 16 + 4 - 2  # a/0000, a/0001 were there


def _limit_memory() -> None:
    limit = 600 * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_an_image_too_big_for_memory_is_its_own_problem(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"a": 2, "b": 2})
    # 170 MB decoded, 0.8 MB on disk: over the 600 MB address-space limit once Python is loaded.
    Image.new("RGBA", (6500, 6500), (10, 200, 30, 255)).save(
        root / "b" / "huge.png", compress_level=1
    )
    env = {k: v for k, v in os.environ.items() if k != "LABELAUDIT_DB"}
    env["OPENBLAS_NUM_THREADS"] = "1"  # its buffers per thread count against the limit too
    proc = subprocess.run(
        [cli_executable(), "init", str(tmp_path / "proj"), "--images", str(root), "--json"],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=_limit_memory,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["new"] == 5
    assert report["problems"] == {"out_of_memory": 1}
    assert report["problem_paths"] == [
        "b/huge.png: not enough memory to decode the image (6500x6500 pixels, RGBA)"
    ]
    # Without the limit the next import decodes it again (a machine's problem, not the file's).
    again = run_cli("import", tmp_path / "proj", "--json", check=True, timeout=120)
    assert json.loads(again.stdout)["problems"] == {}


def test_symlink_loops_are_recorded_and_the_import_goes_on(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"a": 2})
    os.symlink("self.png", root / "a" / "self.png")
    os.symlink("ping.png", root / "a" / "pong.png")
    os.symlink("pong.png", root / "a" / "ping.png")
    os.symlink("loopdir", root / "a" / "loopdir")
    os.symlink("..", root / "a" / "up")
    os.symlink(".", root / "a" / "here")
    project = Project.create(tmp_path / "proj", root)
    try:
        report = project.import_images()
        assert sorted((p.path, p.reason) for p in report.problems) == [
            ("a/here", "symlink_loop"),
            ("a/loopdir", "symlink_loop"),
            ("a/ping.png", "symlink_loop"),
            ("a/pong.png", "symlink_loop"),
            ("a/self.png", "symlink_loop"),
            ("a/up", "symlink_loop"),
        ]
        assert set(_rows(project)) == {"a/0000.png", "a/0001.png"}
        manifest = tmp_path / "labels.csv"
        manifest.write_text("path,label\na/0000.png,x\na/self.png,x\n")
        found = project.discover(manifest=manifest)
        assert [(p.path, p.reason) for p in found.problems] == [("a/self.png", "symlink_loop")]
    finally:
        project.close()


NFC, NFD = "caf\u00e9", "cafe\u0301"


def test_nfc_nfd_twins_are_a_name_clash_and_kept_apart(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"a": 2})
    write_image(root / "a" / f"{NFC}.png", seed=11)
    write_image(root / "a" / f"{NFD}.png", seed=12)
    # Twin folders: one class after NFC, files in both are found where they are.
    write_image(root / NFC / "in_nfc.png", seed=13)
    write_image(root / NFD / "in_nfd.png", seed=14)
    project = Project.create(tmp_path / "proj", root)
    try:
        report = project.import_images()
        clashes = [(p.path, p.reason) for p in report.problems]
        assert clashes == [(f"a/{NFC}.png", "name_clash")] * 2
        rows = _rows(project)
        assert f"a/{NFC}.png" not in rows  # neither twin: one stored path cannot name both
        assert {f"{NFC}/in_nfc.png", f"{NFC}/in_nfd.png"} <= set(rows)
        for path, row in rows.items():  # scan and export read the bytes the import hashed
            data = disk_path(root, path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == row["sha256"], path
        manifest = tmp_path / "labels.csv"
        manifest.write_text(f"path,label\na/{NFC}.png,x\na/0000.png,x\n", encoding="utf-8")
        found = project.discover(manifest=manifest)
        assert [(p.path, p.reason) for p in found.problems] == [(f"a/{NFC}.png", "name_clash")]
    finally:
        project.close()


def test_info_tells_a_running_import_from_an_interrupted_one(
    tmp_path: Path, backend: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "images", {"a": 6})
    seen: list[list[str]] = []
    real = workers.inspect_file

    def watching(path: str, options):  # the import in progress, as `info` shows it meanwhile
        seen.append([u["status"] for u in project_info(project.store)["unfinished_imports"]])
        if len(seen) == 4:
            raise KeyboardInterrupt
        return real(path, options)

    monkeypatch.setattr(workers, "inspect_file", watching)
    with Project.create(tmp_path / "proj", root, db_url=backend) as project:
        with pytest.raises(KeyboardInterrupt):
            project.import_images(workers=1)
        assert seen == [["running"]] * 4
        unfinished = project_info(project.store)["unfinished_imports"]
        assert [u["status"] for u in unfinished] == ["interrupted"]
        monkeypatch.setattr(workers, "inspect_file", real)
        assert project.import_images().new == 6
        assert project_info(project.store)["unfinished_imports"] == []

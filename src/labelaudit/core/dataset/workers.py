"""Inspect many files in worker processes that survive a worker's death.

A worker killed mid-file (the kernel's OOM killer, a crash in a decoder) is replaced and the rest
of its batch is retried; the file it was reading when it died is retried too, and recorded as
``worker_crashed`` once it has killed MAX_CRASHES workers, so one bad file never hangs or stops an
import. Workers die with the parent (PR_SET_PDEATHSIG on Linux, a parent-pid check between files
elsewhere), and each runs its native thread pools (OpenBLAS, OpenMP) on one thread: N workers on
N cores that each spin N BLAS threads are several times slower (see docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from labelaudit.core.dataset.inspect import FileFacts, InspectOptions, inspect_file
from labelaudit.core.errors import LabelauditError

POOL_MIN_FILES = 256  # below this (and POOL_MIN_BYTES) a process pool costs more than it saves
POOL_MIN_BYTES = 8 * 2**20
TASK_FILES = 64  # files per task sent to a worker, at most
TASK_BYTES = 4 * 2**20  # and about this many bytes
MAX_CRASHES = 2  # deaths of a worker on one file before that file is given up
# Test-only fault injection: a worker that is about to inspect a file of this name kills itself
# with SIGKILL, as the OOM killer would (tests/core/test_import_faults.py).
CRASH_ENV = "LABELAUDIT_TEST_KILL_WORKER_ON"
_PR_SET_PDEATHSIG = 1
_IDLE_POLL_S = 0.5


class ImportWorkerError(LabelauditError):
    """Import workers keep dying before they inspect anything (cannot start processes?)."""


@dataclass(frozen=True)
class _Failure:
    """An unexpected exception in a worker, sent back to be raised in the parent."""

    text: str


def inspect_many(
    paths: list[str], options: InspectOptions, *, workers: int | None = None
) -> Iterator[FileFacts]:
    """Inspect files in order, using every core when there are enough of them."""
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    batch = _batch_size(paths) if n_workers > 1 else 0
    if batch == 0:
        for p in paths:
            yield inspect_file(p, options)
        return
    pool = _Pool(paths, options, min(n_workers, -(-len(paths) // batch)), batch=batch)
    try:
        yield from pool.results()
    finally:
        pool.close()


def _batch_size(paths: list[str]) -> int:
    """Files per task, from the mean size of a sample (40 photos of 12 MP are worth a pool, and
    one per task); 0: too little work for a pool, inspect in this process."""
    if len(paths) < 2:
        return 0
    sample = paths[:: max(1, len(paths) // 16)][:16]
    sizes = []
    for path in sample:
        with contextlib.suppress(OSError):
            sizes.append(os.stat(path).st_size)
    mean = max(1.0, sum(sizes) / len(sizes)) if sizes else 1.0
    if len(paths) < POOL_MIN_FILES and len(paths) * mean < POOL_MIN_BYTES:
        return 0
    return max(1, min(TASK_FILES, int(TASK_BYTES / mean)))


# -- the worker process ----------------------------------------------------------------------------
def _worker_main(conn: Connection, slot: Any, options: InspectOptions, parent: int) -> None:
    _worker_setup(parent)
    crash_on = os.environ.get(CRASH_ENV)
    while True:
        while not conn.poll(_IDLE_POLL_S):
            if os.getppid() != parent:
                os._exit(0)
        try:
            batch: list[tuple[int, str]] | None = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        if batch is None:
            return
        out: list[FileFacts] = []
        for index, path in batch:
            if os.getppid() != parent:
                os._exit(0)
            slot.value = index  # read by the parent if this process dies on the file
            if crash_on and os.path.basename(path) == crash_on:
                os.kill(os.getpid(), signal.SIGKILL)
            try:
                out.append(inspect_file(path, options))
            except Exception as exc:  # a bug, not a bad file: the parent raises it
                conn.send(_Failure(f"{path}: {type(exc).__name__}: {exc}"))
                return
        conn.send(out)


def _worker_setup(parent: int) -> None:
    # Ctrl-C reaches the whole process group: the parent handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(0)
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)


# -- the parent side -------------------------------------------------------------------------------
@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    slot: Any
    batch: list[int] = field(default_factory=list)


class _Pool:
    """Hands batches of file indices to workers, collects results, replaces dead workers."""

    def __init__(
        self, paths: list[str], options: InspectOptions, n_workers: int, *, batch: int
    ) -> None:
        self.paths = paths
        self.options = options
        method = "fork" if sys.platform == "linux" else "spawn"
        self.ctx: Any = multiprocessing.get_context(method)
        n = len(paths)
        self.todo: deque[list[int]] = deque(
            list(range(i, min(i + batch, n))) for i in range(0, n, batch)
        )
        self.done: dict[int, FileFacts] = {}
        self.crashes: dict[int, int] = {}
        self.fruitless_deaths = 0
        self.workers: list[_Worker] = []
        for _ in range(n_workers):
            self.workers.append(self._start())

    def _start(self) -> _Worker:
        parent_conn, child_conn = self.ctx.Pipe()
        slot = self.ctx.RawValue("q", -1)
        process = self.ctx.Process(
            target=_worker_main,
            args=(child_conn, slot, self.options, os.getpid()),
            daemon=True,
            name="labelaudit-import",
        )
        with _sigint_ignored_while_forking():
            process.start()
        child_conn.close()
        return _Worker(process, parent_conn, slot)

    def results(self) -> Iterator[FileFacts]:
        next_out = 0
        while next_out < len(self.paths):
            self._feed()
            self._collect()
            while next_out in self.done:
                yield self.done.pop(next_out)
                next_out += 1

    def _feed(self) -> None:
        for worker in self.workers:
            if not worker.batch and self.todo:
                worker.batch = self.todo.popleft()
                # A worker that died idle: _collect sees its sentinel and retries the batch.
                with contextlib.suppress(OSError):
                    worker.conn.send([(i, self.paths[i]) for i in worker.batch])

    def _collect(self) -> None:
        handles: dict[Any, _Worker] = {}
        for w in self.workers:
            if w.batch:
                handles[w.conn] = w
                handles[w.process.sentinel] = w
        for ready in wait(list(handles)):
            worker = handles[ready]
            if not worker.batch:
                continue  # handled through its other handle in this round
            try:
                facts: list[FileFacts] | _Failure = worker.conn.recv() if worker.conn.poll() else []
            except (EOFError, OSError):
                facts = []
            if isinstance(facts, _Failure):
                raise RuntimeError(f"import worker failed on {facts.text}")
            if facts:
                self.done.update(zip(worker.batch, facts, strict=True))
                worker.batch = []
                self.fruitless_deaths = 0
            elif not worker.process.is_alive():
                self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        """Retry the dead worker's batch in a fresh one; give up on a file that kills repeatedly."""
        batch, culprit = worker.batch, int(worker.slot.value)
        worker.batch = []
        worker.conn.close()
        worker.process.join()
        if culprit in batch:
            self.crashes[culprit] = self.crashes.get(culprit, 0) + 1
            if self.crashes[culprit] >= MAX_CRASHES:
                self.done[culprit] = _crashed(self.paths[culprit], self.crashes[culprit])
                batch = [i for i in batch if i != culprit]
        else:
            self.fruitless_deaths += 1
            if self.fruitless_deaths > 3 * len(self.workers):
                raise ImportWorkerError("the import's worker processes keep dying on start-up")
        if batch:
            self.todo.appendleft(batch)
        self.workers[self.workers.index(worker)] = self._start()

    def close(self) -> None:
        for worker in self.workers:
            if worker.process.is_alive():
                if worker.batch:  # busy: it would finish its batch first
                    worker.process.kill()
                else:
                    with contextlib.suppress(OSError):
                        worker.conn.send(None)
        for worker in self.workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()


def _crashed(path: str, times: int) -> FileFacts:
    try:
        st = os.stat(path)
        size, mtime_ns = st.st_size, st.st_mtime_ns
    except OSError:
        size, mtime_ns = 0, 0
    detail = f"the process decoding it died {times} times (out of memory?)"
    return FileFacts(size, mtime_ns, problem="worker_crashed", detail=detail)


@contextlib.contextmanager
def _sigint_ignored_while_forking() -> Iterator[None]:
    """Forked workers inherit SIGINT ignored, closing the gap before ``_worker_setup`` runs."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; the worker's setup still covers it
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

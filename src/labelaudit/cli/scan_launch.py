"""``labelaudit scan PROJECT --nproc-per-node N``: N ranks on this machine through torchrun's
elastic launcher (the API that ``torchrun --standalone`` calls), each running this same command.

The ranks find their place in torchrun's environment (``core/scan/ranks.py``); a multi-node
scan is ``torchrun --nnodes ... -m labelaudit scan PROJECT ...`` on every node. A rank that
fails stops the others (its finished folds stay in the store for the next run); with
``--max-restarts R`` the launcher restarts every rank up to R times, and the restarted scan
resumes from the stored folds. Failures end as one line, with the exit code of the first rank
that failed.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

from labelaudit.core.errors import InputError
from labelaudit.core.scan.ranks import RankStopped

LAUNCHED = "LABELAUDIT_SCAN_LAUNCHER"  # set for the ranks: the launcher reports their failures


def add_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("several processes or GPUs (torchrun)")
    group.add_argument(
        "--nproc-per-node",
        type=int,
        metavar="N",
        help="train the folds in N processes on this machine (one per GPU; on CPUs each gets "
        "its share of the cores), started through torchrun's launcher; results are the same "
        "as one process with the same --threads. Several machines: run 'torchrun --nnodes M "
        "--nproc-per-node N --rdzv-endpoint HOST:PORT -m labelaudit scan PROJECT ...' on each",
    )
    group.add_argument(
        "--max-restarts",
        type=int,
        default=0,
        metavar="N",
        help="with --nproc-per-node: restart every process up to N times when one fails; each "
        "restart resumes from the folds already stored (default 0: stop, and resume on the next "
        "run)",
    )


def launch(args: argparse.Namespace, argv: list[str]) -> int:
    """Run ``labelaudit <argv>`` as ``args.nproc_per_node`` ranks; the exit code of the run."""
    n = int(args.nproc_per_node)
    if n < 1 or n > 1024:
        raise InputError(f"--nproc-per-node must be between 1 and 1024, got {n}")
    if args.max_restarts < 0:
        raise InputError(f"--max-restarts must be >= 0, got {args.max_restarts}")
    if args.pred_probs is not None:
        raise InputError(
            "--nproc-per-node trains networks in several processes; --pred-probs audits your "
            "own predictions in one: drop one of them"
        )
    try:
        from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs
        from torch.distributed.elastic.multiprocessing.api import SignalException
        from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
        from torch.distributed.launcher.api import LaunchConfig, elastic_launch
    except ImportError as exc:
        raise InputError(f"--nproc-per-node needs torch with torch.distributed ({exc})") from None
    _quiet_torch_logs()
    with tempfile.TemporaryDirectory(prefix="labelaudit-ranks-") as logs, _rank_env(n):
        config = LaunchConfig(
            min_nodes=1,
            max_nodes=1,
            nproc_per_node=n,
            run_id=str(uuid.uuid4()),
            rdzv_backend="c10d",
            rdzv_endpoint="localhost:0",  # as torchrun --standalone: a free port
            max_restarts=args.max_restarts,
            monitor_interval=0.5,
            logs_specs=DefaultLogsSpecs(log_dir=logs),
        )
        try:
            elastic_launch(config, sys.executable)("-m", "labelaudit", *argv)
        except ChildFailedError as exc:
            return _report(exc.failures)
        except SignalException as exc:  # Ctrl-C or a stop: the ranks were stopped with it
            sig = exc.sigval
            print(
                f"labelaudit: {'interrupted' if sig == signal.SIGINT else f'stopped ({sig.name})'};"
                " the scan's finished folds are kept: run the same command again to resume",
                file=sys.stderr,
            )
            return 128 + int(sig)
    return 0


def _quiet_torch_logs() -> None:
    """torch.distributed's loggers set their own levels: the launcher's notices, and its own
    account of a failed rank, are not the user's concern (``_report`` says what failed)."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


@contextlib.contextmanager
def _rank_env(n: int) -> Iterator[None]:
    """The ranks' environment: the launcher reports for them, and on CPUs the cores are shared
    (torch would start one thread per core in every rank)."""
    threads = str(max(1, (os.cpu_count() or 1) // n))
    saved = {k: os.environ.get(k) for k in (LAUNCHED, "OMP_NUM_THREADS")}
    os.environ[LAUNCHED] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", threads)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# Exit codes of ranks that stopped because the scan stopped elsewhere (RankStopped, a stop by
# torchrun, Ctrl-C): the rank that caused it is the one to report.
_FOLLOWERS = {130, 143, -signal.SIGTERM, -signal.SIGINT}


def _report(failures: dict[int, Any]) -> int:
    """One line for the rank that failed first. A rank that exited with an error has printed
    its own line; one killed by a signal printed nothing, so say it here."""

    def order(item: tuple[int, Any]) -> tuple[bool, float, int]:
        rank, failure = item
        return (int(failure.exitcode) in _FOLLOWERS, failure.timestamp, rank)

    rank, failure = min(failures.items(), key=order)
    code = int(failure.exitcode)
    if code >= 0:
        return code or 1
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    print(
        f"labelaudit: error: scan rank {rank} (pid {failure.pid}) was killed by {name}; the other "
        "ranks stopped and the finished folds are kept: run the same command again to resume",
        file=sys.stderr,
    )
    return 128 + -code


def stop_on_signals() -> None:
    """In a rank: torchrun stops the ranks with SIGTERM, a terminal's Ctrl-C sends SIGINT. The
    first becomes an exception, so that rank 0 records its scan as failed or cancelled (both
    resumable); later ones are ignored, so they cannot cut that record short."""

    def stop(signum: int, frame: object) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise RankStopped("stopped by torchrun: another rank failed or the launcher stopped")

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)


def quiet_failures() -> bool:
    """True in a rank started by ``launch``: it reports the failure, in one line."""
    return os.environ.get(LAUNCHED) == "1"

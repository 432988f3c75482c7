"""The ranks of a distributed scan under torchrun, and how they split the work.

A scan's work items are its folds ``0..K-1`` plus ``EMBED`` (the network fit on every image for
embeddings), or for a linear probe the shards of its frozen features. They are independent, so
each rank does the items dealt to it round-robin and writes them through the fold checkpoint;
rank 0 then gathers every item from the checkpoint, calibrates, audits and publishes, as a
one-process scan does. Each item is computed exactly as a one-process scan computes it (same
seed, same folds, same images), so results do not depend on the number of ranks.

``ControlGroup`` carries only small control messages (rank 0's decisions, "all items stored")
over gloo, on CPUs and GPUs alike; the arrays travel through the store. Torch is imported inside
its methods.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from labelaudit.core.errors import InputError, LabelauditError
from labelaudit.core.scan.api import ScanConfig

EMBED = -1  # the work item "embedding network on every image" (folds are 0..K-1)
EMBEDDINGS = "embeddings"  # the name its result is stored under
# Items can take hours: a rank that died is noticed by torchrun (which stops the others), not by
# a collective's timeout.
COLLECTIVE_TIMEOUT = datetime.timedelta(days=7)


class RankStopped(LabelauditError):
    """The scan stopped on another rank (or torchrun stopped this one); that rank says why."""

    exit_code = 143  # as a SIGTERM: the launcher tells this apart from the rank that failed


@dataclasses.dataclass(frozen=True)
class Ranks:
    """This process's place among torchrun's ranks (one process: rank 0 of 1)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1  # ranks on this machine

    @property
    def across_machines(self) -> bool:
        return self.world > self.local_world

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def deal(self, items: Sequence[int]) -> tuple[int, ...]:
        """This rank's round-robin share of ``items`` (the same list on every rank)."""
        return tuple(items[self.rank :: self.world])

    def device(self, device: str) -> str:
        """The rank's own GPU for ``cuda`` (LOCAL_RANK modulo the GPUs); others unchanged."""
        if device != "cuda" or not self.distributed:
            return device
        import torch

        return f"cuda:{self.local_rank % max(1, torch.cuda.device_count())}"


def ranks_from_environment(env: Mapping[str, str] | None = None) -> Ranks:
    """RANK, WORLD_SIZE and LOCAL_RANK as torchrun sets them; one process when absent."""
    env = os.environ if env is None else env
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", "0"))
        local_world = int(env.get("LOCAL_WORLD_SIZE", str(world)))
    except ValueError as exc:
        raise InputError(f"bad torchrun environment (RANK/WORLD_SIZE/LOCAL_RANK): {exc}") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise InputError(f"bad torchrun environment: RANK={rank} WORLD_SIZE={world}")
    return Ranks(rank=rank, world=world, local_rank=local, local_world=local_world)


def work_items(config: ScanConfig, *, world: int) -> dict[int, str]:
    """Every work item of a scan and the name its result is stored under in the checkpoint.

    A CNN scan: its folds and EMBED (when it embeds). A linear probe: the shards of the frozen
    features, one per rank (its regressions take seconds, so rank 0 fits them all)."""
    if config.linear_probe:
        return {s: probe_shard(s, world=world) for s in range(world)}
    items = {k: f"fold{k}_probs" for k in range(config.folds)}
    if config.embed:
        items[EMBED] = EMBEDDINGS
    return items


def probe_shard(shard: int, *, world: int) -> str:
    return f"features {shard + 1} of {world}"


def _nothing() -> None:
    return None


@dataclasses.dataclass(frozen=True)
class RankWork:
    """What the engine knows of the other ranks. ``todo``: the items this run trains, in the
    same order on every rank (None: one process does everything); ``done``: the items already in
    the checkpoint when it started; ``wait_all`` returns once every rank has stored its items.
    """

    ranks: Ranks = Ranks()
    todo: tuple[int, ...] | None = None
    done: frozenset[int] = frozenset()
    wait_all: Callable[[], None] = _nothing

    def does(self, item: int) -> bool:
        return self.todo is None or item in self.ranks.deal(self.todo)

    def owner(self, item: int) -> int:
        assert self.todo is not None
        return self.todo.index(item) % self.ranks.world

    @property
    def gather(self) -> bool:
        """True on the rank that collects the other ranks' items from the checkpoint."""
        return self.todo is not None and self.ranks.main


class ControlGroup:
    """torch.distributed's default group on gloo, for control messages between the ranks."""

    def __init__(self, ranks: Ranks, *, poll: Callable[[], None] = lambda: None) -> None:
        import torch.distributed as dist

        self.ranks = ranks
        self.poll = poll  # called while waiting (e.g. raises Cancelled)
        if not dist.is_initialized():
            store, rank, world = next(dist.rendezvous("env://", timeout=COLLECTIVE_TIMEOUT))
            # torchrun's restarts share its store: without a prefix per attempt, a restarted
            # rank could read the addresses of the ranks it replaces and fail to connect
            attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
            dist.init_process_group(
                backend="gloo",
                store=dist.PrefixStore(f"labelaudit-scan/attempt-{attempt}", store),
                rank=rank,
                world_size=world,
                timeout=COLLECTIVE_TIMEOUT,
            )

    def from_main(self, message: Any = None) -> Any:
        """Rank 0's ``message`` on every rank (other ranks pass nothing)."""
        import torch.distributed as dist

        box = [message if self.ranks.main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def wait_all(self, poll: Callable[[], None] | None = None) -> None:
        """Return once every rank has arrived. Polls (``poll``, else the group's), so that
        signals (Ctrl-C, torchrun's stop) interrupt the wait instead of queueing behind a
        blocking collective."""
        import torch.distributed as dist

        poll = poll or self.poll
        try:
            pending = dist.barrier(async_op=True)
            assert pending is not None
            while not pending.is_completed():
                poll()
                time.sleep(0.05)
            pending.wait()
        except RuntimeError as exc:  # gloo: a peer's connection closed (it died)
            raise RankStopped(f"another rank stopped during the scan ({exc})") from None

    def leave(self) -> None:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()

"""How a distributed scan's ranks split the work (no processes: core/scan/ranks.py alone)."""

from __future__ import annotations

import pytest

from labelaudit.core.errors import InputError
from labelaudit.core.scan.api import ScanConfig
from labelaudit.core.scan.ranks import (
    EMBED,
    Ranks,
    RankWork,
    probe_shard,
    ranks_from_environment,
    work_items,
)


def test_items_are_dealt_round_robin_and_every_item_has_one_owner() -> None:
    todo = (0, 1, 2, 3, 4, EMBED)
    shares = [RankWork(Ranks(rank=r, world=2), todo) for r in (0, 1)]
    assert [s.ranks.deal(todo) for s in shares] == [(0, 2, 4), (1, 3, EMBED)]
    for item in todo:
        doers = [r for r, s in enumerate(shares) if s.does(item)]
        assert doers == [shares[0].owner(item)]
    assert shares[0].gather and not shares[1].gather
    # more ranks than items: the extra ranks have nothing to do and only wait
    idle = RankWork(Ranks(rank=7, world=8), todo)
    assert not any(idle.does(i) for i in todo)
    # one process: everything, nothing to gather
    alone = RankWork()
    assert alone.does(3) and alone.does(EMBED) and not alone.gather


def test_work_items_and_the_names_they_are_stored_under() -> None:
    assert work_items(ScanConfig(folds=3), world=2) == {
        0: "fold0_probs",
        1: "fold1_probs",
        2: "fold2_probs",
        EMBED: "embeddings",
    }
    assert EMBED not in work_items(ScanConfig(folds=3, embed=False), world=2)
    probe = work_items(ScanConfig(folds=3, linear_probe=True), world=3)
    assert probe == {s: probe_shard(s, world=3) for s in range(3)}
    # a resume with another rank count never mixes shards cut for another
    assert probe_shard(0, world=2) != probe_shard(0, world=3)


def test_torchrun_environment() -> None:
    assert ranks_from_environment({}) == Ranks()
    env = {"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "4"}
    ranks = ranks_from_environment(env)
    assert (ranks.rank, ranks.world, ranks.local_rank) == (3, 8, 1)
    assert ranks.distributed and ranks.across_machines and not ranks.main
    assert not ranks_from_environment({**env, "LOCAL_WORLD_SIZE": "8"}).across_machines
    for bad in ({"RANK": "2", "WORLD_SIZE": "2"}, {"WORLD_SIZE": "x"}, {"WORLD_SIZE": "0"}):
        with pytest.raises(InputError, match="torchrun environment"):
            ranks_from_environment(bad)
    assert Ranks(rank=1, world=2, local_rank=1).device("cpu") == "cpu"

"""Many annotators voting at once: the load generator of the concurrency test and bench_votes.py.

Each process opens the project itself, waits at a barrier, then casts its planned votes one
transaction at a time. A fault injector makes chosen first attempts fail with a lock error (so
the store's retry path runs), and every ``resend_every``-th vote is sent twice with the same id,
as a client does when it never saw the answer to its first try.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

NAMESPACE = uuid.UUID("7a4c2a63-0f0b-4b0e-8d59-5d3c8c1b2f00")


@dataclass(frozen=True)
class LoadResult:
    latencies_s: np.ndarray  # one per vote (the first send), all processes
    wall_s: float
    injected: int
    resent: int


def plan(annotator: str, n_votes: int, image_ids: list[int], classes: list[str], seed: int) -> list:
    """Deterministic (vote_id, image_id, decision) triples for one annotator."""
    rng = random.Random(f"{seed}:{annotator}")
    choices = [*classes, "keep", "keep", "drop", "unsure"]
    return [
        (str(uuid.uuid5(NAMESPACE, f"{annotator}:{k}")), rng.choice(image_ids), rng.choice(choices))
        for k in range(n_votes)
    ]


def _worker(
    project_dir: str,
    annotator: str,
    votes: list,
    fault_every: int,
    resend_every: int,
    barrier: Any,
    results: Any,
) -> None:
    from labelaudit.core.consensus.votes import cast_vote
    from labelaudit.core.project import Project

    project = Project.open(Path(project_dir))
    transactions = [0]
    injected = [0]

    def injector(attempt: int) -> None:
        if attempt == 1:
            transactions[0] += 1
            if fault_every > 0 and transactions[0] % fault_every == 0:
                injected[0] += 1
                raise sa.exc.OperationalError("BEGIN", {}, Exception("database is locked"))

    project.store.fault_injector = injector
    latencies = []
    resent = 0
    barrier.wait()
    for k, (vote_id, image_id, decision) in enumerate(votes):
        start = time.perf_counter()
        cast_vote(
            project.store,
            annotator=annotator,
            image_id=image_id,
            decision=decision,
            suggestion_shown=False,
            vote_id=vote_id,
        )
        latencies.append(time.perf_counter() - start)
        if resend_every and k % resend_every == 0:
            record = cast_vote(
                project.store,
                annotator=annotator,
                image_id=image_id,
                decision=decision,
                suggestion_shown=False,
                vote_id=vote_id,
            )
            assert not record.created
            resent += 1
    project.close()
    results.put((annotator, latencies, injected[0], resent))


def run_load(
    project_dir: Path,
    plans: dict[str, list],
    *,
    fault_every: int = 7,
    resend_every: int = 25,
) -> LoadResult:
    """One process per annotator in ``plans``, all casting at once; returns their latencies."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(plans) + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(str(project_dir), name, votes, fault_every, resend_every, barrier, results),
        )
        for name, votes in plans.items()
    ]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    start = time.perf_counter()
    collected = [results.get(timeout=600) for _ in procs]
    wall = time.perf_counter() - start
    for p in procs:
        p.join(timeout=60)
        if p.exitcode != 0:
            raise RuntimeError(f"a voting process failed (exit code {p.exitcode})")
    return LoadResult(
        latencies_s=np.concatenate([np.asarray(c[1]) for c in collected]),
        wall_s=wall,
        injected=sum(c[2] for c in collected),
        resent=sum(c[3] for c in collected),
    )

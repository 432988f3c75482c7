"""How many votes a project holds, counted one way for ``info``, ``agreement``, ``votes export``
and the app.

A *current* vote is an annotator's latest vote on an image that is neither retracted nor stale
(``tables.load_votes``, the votes every consensus uses); ``unsure`` is a current vote that
abstains. A *vote record* is every stored vote but the retractions themselves: replaced,
retracted and stale votes included (the history, ``votes export --history``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.codes import VoteKind
from labelaudit.core.consensus.annotators import Annotator
from labelaudit.core.consensus.tables import RETRACT, VoteRows, load_votes
from labelaudit.core.store.schema import annotators, classes, votes


@dataclass(frozen=True)
class VoteCounts:
    """Per annotator name (every registered annotator, in name order)."""

    current: dict[str, int]  # current votes, unsure included
    abstaining: dict[str, int]  # of those, unsure
    records: dict[str, int]  # every vote record (history)

    @property
    def total_current(self) -> int:
        return sum(self.current.values())

    @property
    def total_abstaining(self) -> int:
        return sum(self.abstaining.values())

    @property
    def total_records(self) -> int:
        return sum(self.records.values())


def current_counts(rows: VoteRows, people: Sequence[Annotator]) -> tuple[np.ndarray, np.ndarray]:
    """(current votes, unsure among them), int64 (M,) aligned on ``people``."""
    ids = np.array([p.id for p in people], dtype=np.int64)
    pos = np.searchsorted(ids, rows.annotator_ids) if ids.size else rows.annotator_ids[:0]
    total = np.bincount(pos, minlength=ids.size).astype(np.int64)
    unsure = rows.kind == VoteKind.UNSURE
    abstain = np.bincount(pos[unsure], minlength=ids.size).astype(np.int64)
    return total, abstain


def count_votes(conn: Connection) -> VoteCounts:
    """The counts of the module docstring, from one read."""
    people = [
        Annotator(int(r.id), r.name, r.role)
        for r in conn.execute(sa.select(annotators).order_by(annotators.c.id))
    ]
    any_class = {int(c): 0 for c in conn.execute(sa.select(classes.c.id)).scalars()}
    total, abstain = current_counts(load_votes(conn, any_class), people)
    records: dict[int, int] = dict(
        conn.execute(
            sa.select(votes.c.annotator_id, sa.func.count())
            .where(votes.c.kind != RETRACT)
            .group_by(votes.c.annotator_id)
        ).all()
    )
    order = sorted(range(len(people)), key=lambda j: people[j].name)
    return VoteCounts(
        current={people[j].name: int(total[j]) for j in order},
        abstaining={people[j].name: int(abstain[j]) for j in order},
        records={people[j].name: int(records.get(people[j].id, 0)) for j in order},
    )

"""The review state of every image, computed in numpy for all images at once.

States (architecture.md §4): ``unflagged -> needs_votes (k of n) -> agreed | needs_lead ->
resolved``, plus ``dropped``, ``broken`` and ``stale``.

- An image is *in review* when it is flagged (the latest scan's ``issue_flags`` intersected with
  the ``review_issue_types`` setting), was put into review (by a lead, by a vote on it, by a
  changed file), or has votes. Otherwise it is ``unflagged``.
- ``needs_votes``: in review with fewer than ``votes_required`` non-abstaining current votes.
- ``stale``: in review, its votes or lead decision went stale (the file's bytes changed) and no
  new vote or decision has come since.
- With enough votes the consensus method and the shared lead rule (``methods``) decide:
  ``needs_lead``, ``agreed`` (a class) or ``dropped`` (consensus drop). An image short of votes
  is ``needs_lead`` too once every registered non-lead annotator has voted on it (``states``).
- A current lead decision makes the image ``resolved`` (a class) or ``dropped``.
- ``broken``: the file is broken or missing; it overrides everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from labelaudit.core import settings as settings_mod
from labelaudit.core.codes import ISSUE_BITS, VoteKind
from labelaudit.core.consensus.annotators import Annotator
from labelaudit.core.consensus.matrix import VoteMatrix
from labelaudit.core.consensus.tables import DecisionRows, VoteRows, load_decisions, load_votes
from labelaudit.core.dataset.catalog import Catalog, load_catalog
from labelaudit.core.errors import InputError
from labelaudit.core.store.engine import Store
from labelaudit.core.store.scan_results import LIGHT_ARRAYS, load_results
from labelaudit.core.store.schema import annotators, classes, review_requests

STATE_DTYPE = "<U11"


@dataclass(frozen=True)
class ReviewData:
    """Everything the states need, aligned on ``catalog.image_ids`` where per image (N,)."""

    catalog: Catalog
    votes: VoteRows
    decisions: DecisionRows
    requested: np.ndarray  # bool (N,): put into review by hand, by a vote or a changed file
    flagged: np.ndarray  # bool (N,): the latest scan flags an issue type the project reviews
    label_quality: np.ndarray  # float32 (N,), nan where the image is not in the scan
    suggested: np.ndarray  # int64 (N,), -1 where the image is not in the scan
    scan_id: int | None
    settings: dict[str, Any]
    annotators: list[Annotator]  # ordered by id: position = annotator column in a VoteMatrix

    def annotator_index(self, annotator_ids: np.ndarray) -> np.ndarray:
        ids = np.array([a.id for a in self.annotators], dtype=np.int64)
        return np.searchsorted(ids, annotator_ids)

    def image_index(self, image_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in the catalog, found mask) of ``image_ids``."""
        ids = self.catalog.image_ids
        pos = np.searchsorted(ids, image_ids)
        pos = np.minimum(pos, max(len(ids) - 1, 0))
        found = (ids[pos] == image_ids) if len(ids) else np.zeros(len(image_ids), dtype=bool)
        return pos, found


def _align(ids: np.ndarray, source_ids: np.ndarray, values: np.ndarray, fill: Any) -> np.ndarray:
    """``values`` (rows keyed by ``source_ids``) reordered onto ``ids``, ``fill`` where absent."""
    out = np.full((len(ids), *values.shape[1:]), fill, dtype=np.result_type(values, type(fill)))
    if len(source_ids) == 0 or len(ids) == 0:
        return out
    order = np.argsort(source_ids)
    pos = np.searchsorted(source_ids[order], ids)
    pos = np.minimum(pos, len(source_ids) - 1)
    hit = source_ids[order][pos] == ids
    out[hit] = values[order][pos[hit]]
    return out


def load_review(store: Store, *, with_paths: bool = True) -> ReviewData:
    """Read images, current votes and decisions, review requests, settings and scan flags."""
    catalog = load_catalog(store, with_paths=with_paths)
    with store.read() as conn:
        names = sorted(conn.execute(sa.select(classes.c.name)).scalars())
        index_of = {name: i for i, name in enumerate(names)}
        class_index_of = {
            int(cid): index_of[name]
            for cid, name in conn.execute(sa.select(classes.c.id, classes.c.name))
        }
        vote_rows = load_votes(conn, class_index_of)
        decision_rows = load_decisions(conn, class_index_of)
        requested_ids = np.fromiter(
            conn.execute(sa.select(review_requests.c.image_id).distinct()).scalars(), dtype=np.int64
        )
        people = [
            Annotator(int(r.id), r.name, r.role)
            for r in conn.execute(sa.select(annotators).order_by(annotators.c.id))
        ]
        settings = settings_mod.read_all(conn)
    ids = catalog.image_ids
    scan = load_results(store, names=LIGHT_ARRAYS)
    flagged = np.zeros(len(ids), dtype=bool)
    label_quality = np.full(len(ids), np.nan, dtype=np.float32)
    suggested = np.full(len(ids), -1, dtype=np.int64)
    if scan is not None and "issue_flags" in scan.arrays:
        mask = sum(ISSUE_BITS[t] for t in settings["review_issue_types"])
        flags = _align(ids, scan.image_ids, scan.issue_flags.astype(np.int64), 0)
        flagged = (flags & mask) != 0
        label_quality = _align(ids, scan.image_ids, scan.label_quality, np.float32(np.nan))
        scan_names = scan.class_names
        remap = np.array([index_of.get(c, -1) for c in scan_names] + [-1], dtype=np.int64)
        suggested = remap[_align(ids, scan.image_ids, scan.suggested, -1)]
    return ReviewData(
        catalog=catalog,
        votes=vote_rows,
        decisions=decision_rows,
        requested=np.isin(ids, requested_ids),
        flagged=flagged,
        label_quality=label_quality.astype(np.float32),
        suggested=suggested,
        scan_id=scan.scan_id if scan is not None else None,
        settings=settings,
        annotators=people,
    )


def vote_matrix(data: ReviewData) -> tuple[VoteMatrix, np.ndarray]:
    """Non-abstaining current votes as a matrix over the catalog (items = catalog positions)."""
    v = data.votes
    pos, found = data.image_index(v.image_ids)
    k = len(data.catalog.class_names)
    value = np.where(v.kind == VoteKind.DROP, k, v.labels)  # drop -> K (codes.matrix_value)
    use = found & (v.kind != VoteKind.UNSURE) & (value >= 0)
    matrix = VoteMatrix(
        item=pos[use].astype(np.int64),
        annotator=data.annotator_index(v.annotator_ids[use]).astype(np.int64),
        value=value[use].astype(np.int64),
        n_items=len(data.catalog),
        n_annotators=len(data.annotators),
        n_classes=k,
    )
    return matrix, use


def scan_pred_probs(store: Store, data: ReviewData) -> np.ndarray:
    """float32 (N, K) pred_probs of the latest scan aligned on the catalog; nan rows if absent."""
    scan = load_results(store, names=("image_ids", "pred_probs"))
    if scan is None or "pred_probs" not in scan.arrays:
        raise InputError(
            "the crowdlab method needs a finished scan's pred_probs: run 'labelaudit scan' "
            "first, or use --method majority or dawid-skene"
        )
    names = data.catalog.class_names
    missing = [c for c in names if c not in scan.class_names]
    if missing:
        raise InputError(
            f"the latest scan does not know the classes {', '.join(missing[:5])}: scan again"
        )
    columns = [scan.class_names.index(c) for c in names]
    probs = scan.pred_probs[:, columns].astype(np.float32)
    return _align(data.catalog.image_ids, scan.image_ids, probs, np.float32(np.nan))

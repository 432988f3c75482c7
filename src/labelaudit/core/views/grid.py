"""The review grid's data as numpy arrays: order, class groups, filters, noise-matrix cells.

Everything the app shows about "all images" is computed here on arrays aligned by row ``i`` of
:class:`ReviewData` (image-id order), so that sorting and filtering 1,000,000 images takes
milliseconds and the Qt side only resets a model over an index array (architecture.md §7).

Vocabulary: N images, K classes, M images in the current view, S slots of the grid layout.
A *bucket* is a class index, with bucket K holding images that have no label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from labelaudit.core.codes import ISSUE_BITS, ImageStatus, Issue
from labelaudit.core.consensus.rules import reveals
from labelaudit.core.issues_types import STATES

if TYPE_CHECKING:
    from labelaudit.core.consensus.states import Review

# ``my_vote`` codes besides class indices.
NO_VOTE = -1
DROP_VOTE = -2
UNSURE_VOTE = -3

# Issue filter "broken" comes from the image status, not from a scan.
BROKEN_BIT = int(Issue.BROKEN_BADGE)  # a plain int: tested per tile while painting
ISSUE_FILTERS = {**ISSUE_BITS, "broken": BROKEN_BIT}
STATE_CODE = {name: code for code, name in enumerate(STATES)}

# What a tile shows about votes to the person working (blind mode already applied).
SHOWN_STATES = (
    "",  # not in review
    "needs my vote",
    "voted",
    "agreed",
    "needs lead",
    "resolved",
    "dropped",
    "closed",  # settled by others while I had not voted (blind: no details)
    "broken",
    "stale",
)
SHOWN = {name: code for code, name in enumerate(SHOWN_STATES)}

# Grid slot kinds: empty filler, a class header row, an image tile.
SLOT_EMPTY, SLOT_HEADER, SLOT_IMAGE = 0, 1, 2


@dataclass
class ReviewData:
    """What the app knows about every image, row ``i`` aligned across arrays (image-id order).

    ``labels``, ``suggested`` and ``my_vote`` index ``class_names``; ``suggested`` is -1 and the
    scores NaN where no finished scan covers the image.
    """

    image_ids: np.ndarray  # int64 (N,)
    labels: np.ndarray  # int64 (N,), -1: no label
    status: np.ndarray  # uint8 (N,), ImageStatus (core/codes.py)
    class_names: list[str]  # (K,)
    path_blob: str  # every relative path, joined by PATH_SEP, in row order
    path_starts: np.ndarray  # int64 (N + 1,), offsets of each path in path_blob
    suggested: np.ndarray  # int64 (N,)
    suggested_prob: np.ndarray  # float32 (N,)
    label_quality: np.ndarray  # float32 (N,)
    issue_flags: np.ndarray  # uint8 (N,), ISSUE_BITS | BROKEN_BIT
    flagged: np.ndarray  # bool (N,)
    state: np.ndarray  # uint8 (N,), index into issues_types.STATES
    my_vote: np.ndarray  # int64 (N,), class index or NO_VOTE / DROP_VOTE / UNSURE_VOTE
    scan_row: np.ndarray  # int64 (N,), row in the scan's arrays, -1 where the scan lacks it
    scan_id: int | None = None
    scan_class_names: list[str] = field(default_factory=list)  # columns of pred_probs
    review: Review | None = None  # the consensus over the images in review (agreement panel)
    _order: np.ndarray | None = field(default=None, repr=False)
    _lower_blob: str | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return int(self.image_ids.shape[0])

    @property
    def k(self) -> int:
        return len(self.class_names)

    @property
    def buckets(self) -> np.ndarray:
        """int64 (N,): the class index, or K for images without a label."""
        return np.where(self.labels >= 0, self.labels, self.k)

    def path(self, i: int) -> str:
        return self.path_blob[int(self.path_starts[i]) : int(self.path_starts[i + 1]) - 1]

    def row_of(self, image_ids: np.ndarray) -> np.ndarray:
        """int64: rows of the given image ids (-1 for ids that are not in the data)."""
        ids = np.asarray(image_ids, dtype=np.int64)
        rows = np.searchsorted(self.image_ids, ids)
        rows = np.minimum(rows, max(self.n - 1, 0))
        found = self.image_ids[rows] == ids if self.n else np.zeros(ids.shape, bool)
        return np.where(found, rows, -1)

    def order(self) -> np.ndarray:
        """int64 (N,): rows in grid order (cached): by class, flagged first in ascending label
        quality, then the rest in image-id order; images without a label last."""
        if self._order is None:
            quality = np.where(self.flagged, np.nan_to_num(self.label_quality, nan=2.0), 0.0)
            rank_in_class = np.where(self.flagged, 0, 1)
            # lexsort: last key is primary. Rows are already in id order, so ties keep it.
            self._order = np.lexsort((quality, rank_in_class, self.buckets)).astype(np.int64)
        return self._order

    def search(self, text: str) -> np.ndarray:
        """bool (N,): rows whose relative path contains ``text`` (case-insensitive)."""
        mask = np.zeros(self.n, dtype=bool)
        needle = text.strip().lower()
        if not needle or PATH_SEP in needle:
            return mask if needle else ~mask
        if self._lower_blob is None:
            self._lower_blob = self.path_blob.lower()
        hits = np.fromiter(
            (m.start() for m in re.finditer(re.escape(needle), self._lower_blob)), dtype=np.int64
        )
        if hits.size:
            mask[np.searchsorted(self.path_starts, hits, side="right") - 1] = True
        return mask

    def invalidate(self) -> None:
        """Forget cached orderings after arrays changed in place."""
        self._order = None


PATH_SEP = "\x1f"  # ASCII unit separator: never part of a file name in practice


@dataclass(frozen=True)
class Filters:
    """What the grid shows. ``None`` / empty means "any"."""

    flagged_only: bool = False
    issue: str | None = None  # a key of ISSUE_FILTERS
    shown_state: str | None = None  # a name in SHOWN_STATES
    given: int | None = None  # class index; -1 = no label
    suggested: int | None = None  # class index
    search: str = ""

    @classmethod
    def for_cell(cls, given: int, suggested: int, *, flagged_only: bool) -> Filters:
        """Exactly the images counted in one noise-matrix cell."""
        return cls(flagged_only=flagged_only, given=given, suggested=suggested)


@dataclass(frozen=True)
class GridView:
    """The rows shown, in display order, with each bucket's range (``class_offsets``)."""

    rows: np.ndarray  # int64 (M,), rows of ReviewData
    class_offsets: np.ndarray  # int64 (K + 2,): rows[class_offsets[b]:class_offsets[b + 1]]

    def __len__(self) -> int:
        return int(self.rows.shape[0])


def shown_states(data: ReviewData, *, blind: bool, is_lead: bool) -> np.ndarray:
    """uint8 (N,): SHOWN codes for the person working. In blind mode an annotator learns nothing
    about other people's votes on an image before voting on it (leads see everything): the one
    rule, ``core/consensus/rules.py`` ``reveals``."""
    state = data.state
    voted = data.my_vote != NO_VOTE
    out = np.zeros(data.n, dtype=np.uint8)
    code = STATE_CODE
    reveal = reveals(voted, blind=blind, is_lead=is_lead)
    out[state == code["needs_votes"]] = SHOWN["needs my vote"]
    out[(state == code["needs_votes"]) & voted] = SHOWN["voted"]
    for name in ("agreed", "needs_lead"):
        hit = state == code[name]
        out[hit & reveal] = SHOWN[name.replace("_", " ")]
        out[hit & ~reveal] = SHOWN["closed"]
    for name in ("resolved", "dropped", "broken", "stale"):
        out[state == code[name]] = SHOWN[name]
    return out


def needs_me(shown: np.ndarray, *, is_lead: bool) -> np.ndarray:
    """bool: images waiting for this person (a lead also settles disagreements). A stale image
    (its file changed since the votes) needs fresh votes from anyone."""
    mask = (shown == SHOWN["needs my vote"]) | (shown == SHOWN["stale"])
    if is_lead:
        mask |= shown == SHOWN["needs lead"]
    return mask


def filter_mask(data: ReviewData, filters: Filters, shown: np.ndarray | None = None) -> np.ndarray:
    """bool (N,): the images that pass every filter."""
    mask = np.ones(data.n, dtype=bool)
    if filters.flagged_only:
        mask &= data.flagged
    if filters.issue:
        mask &= (data.issue_flags & ISSUE_FILTERS[filters.issue]) != 0
    if filters.shown_state is not None:
        if shown is None:
            raise ValueError("the vote-state filter needs the shown states")
        mask &= shown == SHOWN[filters.shown_state]
    if filters.given is not None:
        mask &= data.labels == filters.given
    if filters.suggested is not None:
        mask &= data.suggested == filters.suggested
    if filters.search.strip():
        mask &= data.search(filters.search)
    return mask


def build_view(data: ReviewData, mask: np.ndarray) -> GridView:
    """The masked rows in grid order, with each bucket's range."""
    order = data.order()
    rows = order[mask[order]]
    buckets = data.buckets[rows]
    offsets = np.searchsorted(buckets, np.arange(data.k + 2), side="left").astype(np.int64)
    return GridView(rows=rows, class_offsets=offsets)


@dataclass(frozen=True)
class SlotLayout:
    """A grid of ``columns`` slots per row where each non-empty bucket starts with a header row.

    ``kind[s]`` is SLOT_EMPTY / SLOT_HEADER / SLOT_IMAGE; ``ref[s]`` is the bucket of a header or
    the view index of an image; ``slot_of[v]`` is the slot of view index ``v``.
    """

    columns: int
    kind: np.ndarray  # int8 (S,)
    ref: np.ndarray  # int64 (S,)
    slot_of: np.ndarray  # int64 (M,)
    header_slot: np.ndarray  # int64 (K + 1,), -1 for buckets absent from the view

    def __len__(self) -> int:
        return int(self.kind.shape[0])


def slot_layout(view: GridView, columns: int) -> SlotLayout:
    """Lay the view out in rows of ``columns`` slots, one header row above each class."""
    c = max(1, int(columns))
    counts = np.diff(view.class_offsets)
    present = counts > 0
    rows_per_bucket = np.where(present, 1 + (counts + c - 1) // c, 0)
    start_row = np.concatenate(([0], np.cumsum(rows_per_bucket)[:-1]))
    total = int(rows_per_bucket.sum()) * c
    kind = np.zeros(total, dtype=np.int8)
    ref = np.full(total, -1, dtype=np.int64)
    header_slot = np.where(present, start_row * c, -1).astype(np.int64)
    header_cells = (header_slot[present][:, None] + np.arange(c)[None, :]).ravel()
    kind[header_cells] = SLOT_HEADER
    ref[header_cells] = np.repeat(np.flatnonzero(present), c)
    bucket_of_v = np.repeat(np.arange(counts.shape[0]), counts)
    within = np.arange(len(view)) - view.class_offsets[bucket_of_v]
    slot_of = ((start_row[bucket_of_v] + 1) * c + within).astype(np.int64)
    kind[slot_of] = SLOT_IMAGE
    ref[slot_of] = np.arange(len(view))
    return SlotLayout(columns=c, kind=kind, ref=ref, slot_of=slot_of, header_slot=header_slot)


def noise_matrix(data: ReviewData, *, flagged_only: bool = False) -> np.ndarray:
    """int64 (K, K): image counts of given class (rows) x most likely class (columns)."""
    k = data.k
    ok = (data.labels >= 0) & (data.suggested >= 0)
    if flagged_only:
        ok &= data.flagged
    cells = data.labels[ok] * k + data.suggested[ok]
    return np.bincount(cells, minlength=k * k).reshape(k, k).astype(np.int64)


@dataclass(frozen=True)
class ClassStats:
    """Per bucket (K classes + "no label"): images, flagged, settled by review."""

    count: np.ndarray  # int64 (K + 1,)
    flagged: np.ndarray  # int64 (K + 1,)
    reviewed: np.ndarray  # int64 (K + 1,)


SETTLED = tuple(STATE_CODE[s] for s in ("agreed", "resolved", "dropped"))


def class_stats(data: ReviewData) -> ClassStats:
    buckets = data.buckets
    size = data.k + 1
    settled = np.isin(data.state, SETTLED)
    return ClassStats(
        count=np.bincount(buckets, minlength=size),
        flagged=np.bincount(buckets, weights=data.flagged, minlength=size).astype(np.int64),
        reviewed=np.bincount(buckets, weights=settled, minlength=size).astype(np.int64),
    )


def next_in_view(view: GridView, wanted: np.ndarray, start: int, *, step: int = 1) -> int:
    """The first view index after ``start`` (before it when ``step`` is -1) whose row is
    ``wanted``, wrapping around; -1 when none is."""
    m = len(view)
    if m == 0:
        return -1
    hits = np.flatnonzero(wanted[view.rows])
    if hits.size == 0:
        return -1
    if step > 0:
        after = hits[hits > start]
        return int(after[0] if after.size else hits[0])
    before = hits[hits < start]
    return int(before[-1] if before.size else hits[-1])


def most_confident(data: ReviewData, cls: int, *, k: int = 8, exclude: int = -1) -> np.ndarray:
    """int64: up to ``k`` rows of class ``cls`` that the model is surest belong to it (before
    any scan: the first members)."""
    members = (data.labels == cls) & (data.status == ImageStatus.OK)
    if data.scan_id is not None:
        members &= data.suggested == cls
    if 0 <= exclude < data.n:
        members[exclude] = False
    rows = np.flatnonzero(members)
    if rows.size > k:
        score = -np.nan_to_num(data.suggested_prob[rows], nan=0.0)
        rows = rows[np.argpartition(score, k - 1)[:k]]
    return rows[np.argsort(-np.nan_to_num(data.suggested_prob[rows], nan=0.0), kind="stable")]


def typical_rows(
    data: ReviewData,
    cls: int,
    *,
    current: int = -1,
    embeddings: np.ndarray | None = None,
    k: int = 8,
) -> np.ndarray:
    """int64: up to ``k`` rows that show what class ``cls`` looks like, best first.

    With ``embeddings`` (scan rows (N_scan, D)) these are the class members nearest to the
    ``current`` image by cosine similarity; without, the members the model is surest about.
    Members the model doubts (suggested elsewhere) are left out: they are not typical.
    """
    if embeddings is None or current < 0 or data.scan_row[current] < 0:
        return most_confident(data, cls, k=k, exclude=current)
    members = (data.labels == cls) & (data.suggested == cls) & (data.status == ImageStatus.OK)
    members &= data.scan_row >= 0
    members[current] = False
    rows = np.flatnonzero(members)
    if rows.size == 0:
        return rows.astype(np.int64)
    vectors = embeddings[data.scan_row[rows]].astype(np.float32)
    query = embeddings[data.scan_row[current]].astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(query) + 1e-12
    sims = vectors @ query / norms
    take = min(k, rows.size)
    best = np.argpartition(-sims, take - 1)[:take]
    return rows[best[np.argsort(-sims[best], kind="stable")]].astype(np.int64)


def top_classes(probs: np.ndarray, *, k: int = 5) -> list[tuple[int, float]]:
    """The ``k`` most likely classes of one pred_probs row (K,), most likely first."""
    order = np.argsort(-probs, kind="stable")[:k]
    return [(int(c), float(probs[c])) for c in order]

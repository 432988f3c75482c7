"""The lead's queue for the grid: vote splits, who voted what, the pick to accept, risk order.

Arrays are aligned on the grid's rows (:class:`~labelaudit.core.views.grid.ReviewData`), computed
from the consensus review of the images in review (``data.review``). What a person may see of
other people's votes is decided by the blind rule in ``core/consensus/rules.py``
(``visible_to``), never here: a split or a voter list is empty where it says no.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labelaudit.core.codes import VoteKind
from labelaudit.core.consensus.decisions import DROP, DROP_CODE, LABEL, NO_DECISION, Decision
from labelaudit.core.consensus.rules import visible_to
from labelaudit.core.consensus.states import Review
from labelaudit.core.issues_types import NEEDS_LEAD
from labelaudit.core.views.grid import SHOWN, STATE_CODE, GridView, ReviewData

SPLIT_PARTS = 3  # a tile shows at most the three most voted options ("2–1–1")
# Where the pick a lead accepts comes from.
PICK_NONE, PICK_CONSENSUS, PICK_METHOD, PICK_MODEL, PICK_EVIDENCE = 0, 1, 2, 3, 4
PICK_WORDS = {
    PICK_CONSENSUS: "consensus",
    PICK_METHOD: "method's pick",
    PICK_MODEL: "model's pick",
    PICK_EVIDENCE: "most likely by the evidence",
}


@dataclass(frozen=True)
class VoteSplit:
    """Per grid row (N,): the vote counts a tile shows ("2–1"), empty where hidden."""

    top: np.ndarray  # int64 (N, SPLIT_PARTS): most voted options' counts, descending, 0-padded
    options: np.ndarray  # int64 (N,): distinct options voted (classes and drop)
    unsure: np.ndarray  # int64 (N,): unsure votes (abstaining)
    visible: np.ndarray  # bool (N,): the viewer may see this image's votes

    def text(self, row: int) -> str:
        """The split of grid row ``row`` (``split_text``); "" when hidden or without votes."""
        if not self.visible[row]:
            return ""
        return split_text([int(c) for c in self.top[row]], options=int(self.options[row]))


def split_text(counts: list[int], *, options: int | None = None) -> str:
    """Votes per option as a split: "2–1", "3–0" (unanimous), "1–1–1", "2–1–1…" (more than
    ``SPLIT_PARTS`` options); "" for no votes."""
    parts = sorted((c for c in counts if c > 0), reverse=True)
    more = "…" if (options if options is not None else len(parts)) > SPLIT_PARTS else ""
    parts = parts[:SPLIT_PARTS]
    if len(parts) == 1:
        parts.append(0)
    return "–".join(map(str, parts)) + more if parts else ""


def _review_rows(data: ReviewData, review: Review) -> np.ndarray:
    """int64: the grid row of each image of ``review`` (-1 where the grid lacks it)."""
    return data.row_of(review.image_ids)


def visible_rows(data: ReviewData, viewer_id: int | None) -> np.ndarray:
    """bool (N,): grid rows whose votes ``viewer_id`` may see (``states.visible_to``); nobody
    working sees nothing while the project is blind."""
    out = np.zeros(data.n, dtype=bool)
    review = data.review
    if review is None:
        return out
    if viewer_id is None and review.data.settings.get("blind", True):
        return out
    rows = _review_rows(data, review)
    ok = rows >= 0
    out[rows[ok]] = visible_to(review, viewer_id)[ok]
    return out


def vote_split(data: ReviewData, *, viewer_id: int | None) -> VoteSplit:
    """The split of every image's current votes (sparse: only voted images cost anything)."""
    n = data.n
    top = np.zeros((n, SPLIT_PARTS), dtype=np.int64)
    options = np.zeros(n, dtype=np.int64)
    unsure = np.zeros(n, dtype=np.int64)
    visible = visible_rows(data, viewer_id)
    review = data.review
    if review is None or len(review.data.votes) == 0:
        return VoteSplit(top, options, unsure, visible)
    v = review.data.votes
    rows = data.row_of(v.image_ids)
    is_unsure = v.kind == VoteKind.UNSURE
    np.add.at(unsure, rows[(rows >= 0) & is_unsure], 1)
    use = (rows >= 0) & ~is_unsure
    k = data.k + 1  # classes, then drop
    value = np.where(v.kind == VoteKind.DROP, data.k, v.labels)[use]
    keys, counts = np.unique(rows[use] * k + value, return_counts=True)
    image = keys // k
    order = np.lexsort((-counts, image))  # by image, most voted first
    image, counts = image[order], counts[order]
    rank = np.arange(image.size) - np.searchsorted(image, image, side="left")
    keep = rank < SPLIT_PARTS
    top[image[keep], rank[keep]] = counts[keep]
    np.add.at(options, image, 1)
    return VoteSplit(top, options, unsure, visible)


def voters(data: ReviewData, row: int, *, viewer_id: int | None) -> list[tuple[str, str]] | None:
    """(name, vote) of every current vote on grid row ``row`` in the order cast, or None when
    the blind rule hides them from ``viewer_id``."""
    review = data.review
    if review is None or not 0 <= row < data.n:
        return []
    if not visible_rows(data, viewer_id)[row]:
        return None
    v = review.data.votes
    names = {a.id: a.name for a in review.data.annotators}
    mine = np.flatnonzero(v.image_ids == data.image_ids[row])
    out = []
    for j in mine:
        kind = int(v.kind[j])
        if kind == VoteKind.LABEL:
            what = data.class_names[int(v.labels[j])] if v.labels[j] >= 0 else "?"
        else:
            what = DROP if kind == VoteKind.DROP else "unsure"
        out.append((names.get(int(v.annotator_ids[j]), "?"), what))
    return out


def accept_picks(data: ReviewData) -> tuple[np.ndarray, np.ndarray]:
    """(pick, source) per grid row: what a lead's Accept decides. The consensus (a class or
    DROP_CODE) where there is one, else the consensus method's own pick (a method that breaks
    a tie), else the model's suggestion; NO_DECISION / PICK_NONE where none exists. Where the
    evidence (votes, annotator quality and model: ``core/consensus/evidence.py``) finds another
    class more likely than the method's, Accept takes the evidence's most likely class: the lead
    accepts the best-supported label, never one estimated as probably wrong."""
    pick = np.full(data.n, NO_DECISION, dtype=np.int64)
    source = np.full(data.n, PICK_NONE, dtype=np.uint8)
    model = data.suggested >= 0
    pick[model], source[model] = data.suggested[model], PICK_MODEL
    review = data.review
    if review is None:
        return pick, source
    rows = _review_rows(data, review)
    result = review.result
    for values, code in ((result.method_label, PICK_METHOD), (result.decision, PICK_CONSENSUS)):
        hit = (rows >= 0) & (values != NO_DECISION) & (result.n_votes > 0)
        pick[rows[hit]], source[rows[hit]] = values[hit], code
    right = np.nan_to_num(np.asarray(review.p_right, dtype=np.float64), nan=0.0)
    class_pick = np.full(rows.shape, NO_DECISION, dtype=np.int64)
    class_pick[rows >= 0] = pick[rows[rows >= 0]]
    better = (
        (rows >= 0)
        & (review.best_label >= 0)
        & (class_pick != DROP_CODE)  # class votes say nothing about dropping
        & (review.best_label != class_pick)
        & (np.nan_to_num(review.best_p, nan=0.0) > right)
    )
    pick[rows[better]], source[rows[better]] = review.best_label[better], PICK_EVIDENCE
    return pick, source


def accept_confidence(data: ReviewData) -> np.ndarray:
    """float64 (N,): the estimated probability that what Accept decides (``accept_picks``) is
    right: the evidence's estimate for a consensus or evidence pick, the model's probability for
    its own pick, nan where there is no estimate."""
    _, source = accept_picks(data)
    sure = np.full(data.n, np.nan)
    model = source == PICK_MODEL
    sure[model] = data.suggested_prob[model]
    review = data.review
    if review is None:
        return sure
    rows = _review_rows(data, review)
    here = rows >= 0
    by_row = np.full(data.n, np.nan)
    by_row[rows[here]] = np.asarray(review.p_right, dtype=np.float64)[here]
    consensus = np.isin(source, (PICK_CONSENSUS, PICK_METHOD))
    sure[consensus] = by_row[consensus]
    best = np.full(data.n, np.nan)
    best[rows[here]] = np.asarray(review.best_p, dtype=np.float64)[here]
    evidence = source == PICK_EVIDENCE
    sure[evidence] = best[evidence]
    return sure


def accept_list(data: ReviewData, rows: Sequence[int]) -> list[tuple[int, Decision, str]]:
    """(image id, decision, origin) that a lead's Accept records (``commands.AcceptCommand``)
    for those of ``rows`` that wait for the lead and have a proposal (``accept_picks``); the
    others are left out. The app's A key and ``labelaudit accept`` both select through here."""
    pick, source = accept_picks(data)
    method = data.review.result.method if data.review is not None else "consensus"
    out = []
    for r in rows:
        if not 0 <= r < data.n or data.state[r] != STATE_CODE["needs_lead"]:
            continue
        decision = pick_decision(int(pick[r]), data.class_names)
        if decision is not None:
            # "consensus (crowdlab)", "crowdlab's pick" (a tie it breaks), "model's pick"
            origin = PICK_WORDS[int(source[r])].replace("method", method)
            if int(source[r]) == PICK_CONSENSUS:
                origin = f"{origin} ({method})"
            out.append((int(data.image_ids[r]), decision, origin))
    return out


def pick_decision(pick: int, class_names: list[str]) -> Decision | None:
    """A pick code as the decision a lead records."""
    if pick == DROP_CODE:
        return Decision(DROP)
    if 0 <= pick < len(class_names):
        return Decision(LABEL, class_names[pick])
    return None


def lead_risk(data: ReviewData) -> np.ndarray:
    """float64 (N,): estimated probability that an image's consensus is wrong, from the
    routing's estimate ``Review.p_right`` (``core/consensus/evidence.py``); 1 with no consensus
    or no estimate (the lead's queue puts those first, as ``rules.lead_queue``); nan for images
    not in review."""
    risk = np.full(data.n, np.nan)
    review = data.review
    if review is None:
        return risk
    rows = _review_rows(data, review)
    right = np.nan_to_num(np.asarray(review.p_right, dtype=np.float64), nan=0.0)
    wrong = np.where(review.result.decision == NO_DECISION, 1.0, 1.0 - right)
    risk[rows[rows >= 0]] = np.clip(wrong, 0.0, 1.0)[rows >= 0]
    return risk


def queue_key(data: ReviewData, shown: np.ndarray, *, is_lead: bool) -> np.ndarray:
    """float64 (N,): the order in which images come up for the person working (lower first;
    ties in grid order). A lead's queue: images waiting for the lead, most likely wrong first,
    before everything else; an annotator's: grid order (all zero)."""
    key = np.zeros(data.n)
    if is_lead:
        waits = shown == SHOWN["needs lead"]
        key[waits] = -1.0 - np.nan_to_num(lead_risk(data)[waits], nan=1.0)
    return key


def next_in_queue(view: GridView, wanted: np.ndarray, key: np.ndarray, start: int) -> int:
    """The view index that comes after view index ``start`` in (``key``, view index) order
    among the ``wanted`` rows, wrapping around; the first for ``start`` -1; -1 when none.
    With an all-zero key this is ``grid.next_in_view``."""
    hits = np.flatnonzero(wanted[view.rows])
    if hits.size == 0:
        return -1
    keys = key[view.rows[hits]]
    order = np.lexsort((hits, keys))
    hits, keys = hits[order], keys[order]
    if start < 0:
        return int(hits[0])
    here = key[view.rows[start]]
    after = np.flatnonzero((keys > here) | ((keys == here) & (hits > start)))
    return int(hits[after[0]] if after.size else hits[0])


def lead_reason(data: ReviewData, row: int) -> str:
    """Why grid row ``row`` waits for the lead (``rules.route``: "tie", "below target
    accuracy", …), or "" when it does not wait for the lead."""
    review = data.review
    if review is None or not 0 <= row < data.n:
        return ""
    pos, found = review.data.image_index(data.image_ids[row : row + 1])
    waits = found[0] and review.state[pos[0]] == NEEDS_LEAD
    return str(review.lead_reason[pos[0]]) if waits else ""

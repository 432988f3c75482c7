"""The review rules, in one place: who sees what, who decides what, where an image goes next.

Every face calls these functions (the CLI's ``queue``/``consensus``/``votes``, the app's session,
grid, Agreement tab and decision commands, the export through ``states.compute_review``); no
other module re-codes them. Qt-free, store-free: arrays in, arrays out.

API (for the CLI, the app and the lead's-queue UI):

- **Team.** ``team_size(annotators)``: registered non-lead annotators. ``votes_needed(settings,
  annotators)``: ``votes_required`` capped to the team (never more votes than people who can cast
  them, at least 1). ``team_warning(votes_required, annotators)``: the one-line message the CLI
  (``annotators add``, ``config``) and the app show when ``votes_required`` exceeds the team, or
  None.
- **Visibility (blind review).** ``reveals(voted, *, blind, is_lead)``: bool mask, may this person
  see other people's votes (and anything derived from them: consensus, vote split, per-class
  counts) on each image? Blind mode hides them from a non-lead until they voted on the image.
  ``visible_to(review, viewer_id)`` applies it to a ``Review`` for the CLI's ``--as`` (no viewer:
  everything); ``visible_to_person(review, person)`` for the app (nobody chosen: a non-lead who
  voted on nothing). The grid's ``shown_states``, the session's ``others_votes`` and the
  Agreement tab (``outcome.review_agreement(review, visible=...)``: every figure computed over
  the visible images only, the method's annotator quality hidden when anything is hidden) all
  go through ``reveals``.
- **Permissions.** ``may_resolve(person)``: only leads make final decisions.
  ``lead_resolves(person, state)``: a decision by ``person`` on an image in ``state`` (a state
  name or ``codes.ReviewState``) is a lead's resolution (True) or a vote (False).
- **Routing.** ``route(...)``: for every image, settled / one more vote / lead, and the reason
  (``REASONS``). An image is settled when ``p_right`` (``evidence.estimate``: the probability that
  its consensus label is right) reaches ``target_accuracy``; else it asks one more vote while a
  registered annotator has not voted on it; else it goes to the lead. ``min_agreement`` and
  ``min_consensus_quality`` (0 = off, the default) still send an image to the lead when set.
- **Order.** ``annotator_queue(review, annotator_id)``: the images this person should vote on,
  those asking one more vote first (least certain first, ActiveLab-style: the vote that most
  raises the expected accuracy), then the images not yet voted on (lowest label quality first).
  ``lead_queue(review)``: images waiting for a lead, most likely wrong first (lowest ``p_right``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from labelaudit.core import issues_types as it
from labelaudit.core.codes import ReviewState
from labelaudit.core.consensus.methods import LEAD_RULES, TIE

if TYPE_CHECKING:
    from labelaudit.core.consensus.annotators import Annotator
    from labelaudit.core.consensus.review import ReviewData

ONE_MORE_VOTE = "one more vote"
BELOW_TARGET = "below target accuracy"
NO_ANNOTATOR_LEFT = "no annotator left"
REASONS = (ONE_MORE_VOTE, BELOW_TARGET, NO_ANNOTATOR_LEFT)
REASON_DTYPE = f"<U{max(map(len, (*REASONS, *LEAD_RULES)))}"


class Review(Protocol):
    """What the rules read of a ``states.Review``: a protocol, so that the rules do not import
    the module that applies them (``states`` computes a review with ``route`` below)."""

    @property
    def data(self) -> ReviewData: ...
    @property
    def state(self) -> np.ndarray: ...
    @property
    def lead_reason(self) -> np.ndarray: ...
    @property
    def p_right(self) -> np.ndarray: ...
    @property
    def image_ids(self) -> np.ndarray: ...


# -- team ---------------------------------------------------------------------------------------
def team_size(annotators: Sequence[Annotator]) -> int:
    """Registered annotators who vote (leads resolve, they are not counted)."""
    return sum(1 for a in annotators if not a.is_lead)


def votes_needed(settings: dict[str, Any], annotators: Sequence[Annotator]) -> int:
    """``votes_required`` capped to the team: never more votes than people to cast them."""
    team = team_size(annotators)
    return max(1, min(int(settings["votes_required"]), team if team else 1))


def team_warning(votes_required: int, annotators: Sequence[Annotator]) -> str | None:
    """The message shown when ``votes_required`` exceeds the team, else None."""
    team = team_size(annotators)
    if votes_required <= team:
        return None
    return (
        f"votes_required is {votes_required} but the team has {team} annotator"
        f"{'' if team == 1 else 's'} (leads not counted): an image needs at most {max(team, 1)} "
        "votes, and the evidence (votes, model) settles it or sends it to the lead"
    )


# -- visibility ---------------------------------------------------------------------------------
def reveals(voted: np.ndarray, *, blind: bool, is_lead: bool) -> np.ndarray:
    """bool (N,): may the person see other people's votes on each image (``voted``: bool (N,),
    they have a current vote there, unsure included)? The one blind-review rule."""
    return np.asarray(voted, dtype=bool) | is_lead | (not blind)


def _person(annotators: Sequence[Annotator], person_id: int | None) -> Annotator | None:
    return next((a for a in annotators if a.id == person_id), None)


def visible_to(review: Review, viewer_id: int | None) -> np.ndarray:
    """bool (N,): images of ``review`` whose votes ``viewer_id`` may see (everything for no
    viewer: the CLI without ``--as``)."""
    n = len(review.data.catalog)
    if viewer_id is None:
        return np.ones(n, dtype=bool)
    viewer = _person(review.data.annotators, viewer_id)
    return reveals(
        voted_by(review, viewer_id),
        blind=bool(review.data.settings.get("blind", True)),
        is_lead=viewer is not None and viewer.is_lead,
    )


def visible_to_person(review: Review, person: Annotator | None) -> np.ndarray:
    """bool (N,): the app's form of ``visible_to``: nobody chosen (``person`` None) is a
    non-lead who has voted on nothing, so blind mode hides every image's votes."""
    voted = (
        voted_by(review, person.id)
        if person is not None
        else np.zeros(len(review.data.catalog), dtype=bool)
    )
    return reveals(
        voted, blind=bool(review.data.settings.get("blind", True)), is_lead=may_resolve(person)
    )


def voted_by(review: Review, annotator_id: int) -> np.ndarray:
    """bool (N,): images on which this annotator has a current vote (unsure included)."""
    v = review.data.votes
    mine = v.image_ids[v.annotator_ids == annotator_id]
    pos, found = review.data.image_index(mine)
    out = np.zeros(len(review.data.catalog), dtype=bool)
    out[pos[found]] = True
    return out


# -- permissions --------------------------------------------------------------------------------
def may_resolve(person: Annotator | None) -> bool:
    """Only registered leads make final decisions."""
    return person is not None and person.is_lead


def lead_resolves(person: Annotator | None, state: str | int) -> bool:
    """A decision by ``person`` on an image in ``state`` resolves it (a lead, on an image waiting
    for the lead) rather than being a vote."""
    waiting = state == it.NEEDS_LEAD or (isinstance(state, int) and state == ReviewState.NEEDS_LEAD)
    return may_resolve(person) and bool(waiting)


# -- routing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """Per image (N,): where it goes. Exactly one of the masks holds where ``considered``."""

    settled: np.ndarray  # bool: the evidence settles it (agreed or dropped)
    more_votes: np.ndarray  # bool: waits for votes (short of votes, or one more asked)
    to_lead: np.ndarray  # bool
    reason: np.ndarray  # <U..: why it waits for a vote or the lead ("" when settled)


def route(
    *,
    considered: np.ndarray,
    n_votes: np.ndarray,
    has_vote: np.ndarray,
    p_right: np.ndarray,
    all_drop: np.ndarray,
    hard_reason: np.ndarray,
    tie: np.ndarray,
    required: int,
    left: np.ndarray,
    target: float,
) -> Route:
    """Route every ``considered`` image (in review, no lead decision, has a vote or is short).

    ``n_votes`` int (N,) non-abstaining votes; ``has_vote`` bool (N,) any current vote, unsure
    included; ``p_right`` float (N,) (nan = no estimate);
    ``all_drop`` bool (N,) every vote is drop; ``hard_reason`` (N,) a lead rule that holds
    whatever the evidence ("drop vs relabel", or an override threshold), "" else; ``tie`` bool;
    ``required`` the capped ``votes_required``; ``left`` int (N,) registered annotators who have
    not voted; ``target`` the target accuracy."""
    enough = n_votes >= required
    can_ask = left > 0
    hard = hard_reason != ""
    confident = (np.nan_to_num(p_right, nan=0.0) >= target) | all_drop
    decidable = (enough | ~can_ask) & has_vote
    settled = considered & decidable & ~hard & confident
    open_ = considered & ~settled
    to_lead = open_ & decidable & (hard | ~can_ask)
    more_votes = open_ & ~to_lead
    reason = np.full(n_votes.shape, "", dtype=REASON_DTYPE)
    reason[more_votes & enough] = ONE_MORE_VOTE
    lead_reason = np.where(tie, TIE, np.where(enough, BELOW_TARGET, NO_ANNOTATOR_LEFT))
    reason[to_lead] = np.where(hard, hard_reason, lead_reason)[to_lead]
    return Route(settled, more_votes, to_lead, reason)


# -- order --------------------------------------------------------------------------------------
def _order(review: Review, mask: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Image ids under ``mask`` sorted by ``key`` ascending (nan first), then by image id."""
    idx = np.flatnonzero(mask)
    k = np.nan_to_num(key[idx].astype(np.float64), nan=-np.inf)
    order = np.lexsort((review.image_ids[idx], k))
    return np.asarray(review.image_ids[idx[order]])


def annotator_queue(review: Review, annotator_id: int) -> np.ndarray:
    """Image ids this annotator should vote on next (see the module docstring)."""
    waiting = np.isin(review.state, (it.NEEDS_VOTES, it.STALE)) & ~voted_by(review, annotator_id)
    asked = waiting & (review.lead_reason == ONE_MORE_VOTE)
    first = _order(review, asked, review.p_right)
    rest = _order(review, waiting & ~asked, review.data.label_quality)
    return np.concatenate([first, rest])


def lead_queue(review: Review) -> np.ndarray:
    """Image ids waiting for a lead, most likely wrong first (lowest ``p_right``; no estimate
    first of all)."""
    return _order(review, review.state == it.NEEDS_LEAD, review.p_right)

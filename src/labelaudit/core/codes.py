"""Every integer code labelaudit stores or computes with, in one place (architecture.md §6).

Codes are ``IntEnum``/``IntFlag`` members, so they compare equal to the integers in numpy arrays
and in the store (``catalog.status == ImageStatus.OK``) while the code reads as a name. Add a code
here, in its section, rather than as a bare integer where it is used. This module imports nothing
from labelaudit: every layer may use it.

Speed: a comparison or ``&`` of an enum member with a numpy scalar or an int, one element at a
time, is 10-75x slower than with a plain int (measured: ``issue_names`` 40 us against 3 us per
call; ``status[i] == ImageStatus.OK`` 29 us against 0.4 us). Compare whole arrays
(``status == ImageStatus.OK``: one conversion), or hoist ``int(member)`` out of a per-element loop;
the lookup tables below hold plain ints for that reason.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag
from typing import Any

# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


class ImageStatus(IntEnum):
    """An image's status in the catalog (uint8 ``Catalog.status``; the store keeps the name)."""

    OK = 0
    BROKEN = 1
    MISSING = 2

    @property
    def label(self) -> str:
        """The name the store and the CLI use (``ok``, ``broken``, ``missing``)."""
        return self.name.lower()


# ---------------------------------------------------------------------------------------------
# Issues found by a scan
# ---------------------------------------------------------------------------------------------


class Issue(IntFlag):
    """Bits of the per-image ``issue_flags`` array (uint8) stored with each scan."""

    LABEL = 1
    NEAR_DUPLICATE = 2
    OUTLIER = 4
    # image-property issues: from the import's decode, not from the model
    DARK = 8
    LIGHT = 16
    BLURRY = 32
    ODD_SIZE = 64
    # not stored by a scan: the grid's "broken" badge, set from the catalog status
    BROKEN_BADGE = 128

    @property
    def label(self) -> str:
        """The issue type's name in settings, the CLI and the app (``near_duplicate``)."""
        return (self.name or "").lower()


# The issue types a scan stores, by name (``review_issue_types``, ``--type``, the filter bar), as
# plain ints: tiles and issue tables test them per image.
ISSUE_BITS: dict[str, int] = {bit.label: int(bit) for bit in Issue if bit is not Issue.BROKEN_BADGE}


def issue_names(flags: int) -> list[str]:
    """The names of the stored issue bits set in ``flags`` (the badge bit is not one)."""
    flags = int(flags)
    return [name for name, bit in ISSUE_BITS.items() if flags & bit]


# ---------------------------------------------------------------------------------------------
# Review (votes, decisions, states): added by the review side of issue 11
# ---------------------------------------------------------------------------------------------


class VoteKind(IntEnum):
    """The kind of a current vote (uint8 ``VoteRows.kind``; the store keeps the name)."""

    LABEL = 0  # a class (keep is a vote for the given class)
    DROP = 1
    UNSURE = 2  # abstains: counts as "has voted", not in the vote matrix

    @property
    def label(self) -> str:
        return self.name.lower()


class Verdict(IntEnum):
    """What a consensus or a lead decided about an image, in int64 decision arrays
    (``ConsensusResult.decision``, ``Review.lead_decision``, ``Outcomes.consensus_class``):
    a class index ``0..K-1``, or one of these negative codes. A ``VoteMatrix`` stores drop as
    the value ``K`` instead (one column per option): convert with ``matrix_value``, never by
    hand."""

    NONE = -1  # no decision (too few votes, a tie, nothing to decide)
    DROP = -2


def matrix_value(verdict: Any, n_classes: int) -> Any:
    """A decision code (an int or an int64 array) as a ``VoteMatrix`` value: drop ->
    ``n_classes``; a class, and ``Verdict.NONE``, stay. Arithmetic, so that it works on numpy
    arrays without this module importing numpy."""
    return verdict + (verdict == Verdict.DROP) * (n_classes - Verdict.DROP)


class ReviewState(IntEnum):
    """An image's review state (``core/consensus/review.py``), as the app's uint8 ``state``
    array stores it; the consensus code keeps the names (``issues_types.STATES``, same order)."""

    UNFLAGGED = 0
    NEEDS_VOTES = 1
    AGREED = 2
    NEEDS_LEAD = 3
    RESOLVED = 4
    DROPPED = 5
    BROKEN = 6
    STALE = 7

    @property
    def label(self) -> str:
        return self.name.lower()

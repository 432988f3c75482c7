"""Issue types and image review states shared by the scan, the app, consensus and export."""

from __future__ import annotations

# Bits of the per-image ``issue_flags`` array (uint8) stored with each scan.
LABEL = 1
NEAR_DUPLICATE = 2
OUTLIER = 4
ISSUE_BITS = {"label": LABEL, "near_duplicate": NEAR_DUPLICATE, "outlier": OUTLIER}

# Image review states (DESIGN.md section 5).
UNFLAGGED = "unflagged"
NEEDS_VOTES = "needs_votes"
AGREED = "agreed"
NEEDS_LEAD = "needs_lead"
RESOLVED = "resolved"
DROPPED = "dropped"
BROKEN = "broken"
STALE = "stale"
STATES = (UNFLAGGED, NEEDS_VOTES, AGREED, NEEDS_LEAD, RESOLVED, DROPPED, BROKEN, STALE)


def issue_names(flags: int) -> list[str]:
    return [name for name, bit in ISSUE_BITS.items() if flags & bit]

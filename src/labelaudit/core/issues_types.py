"""Issue types and image review states shared by the scan, the app, consensus and export."""

from __future__ import annotations

# Bits of the per-image ``issue_flags`` array (uint8) stored with each scan.
LABEL = 1
NEAR_DUPLICATE = 2
OUTLIER = 4
# Image-property issues (from the import's decode, not the model); bit 128 is the app's "broken".
DARK = 8
LIGHT = 16
BLURRY = 32
ODD_SIZE = 64
ISSUE_BITS = {
    "label": LABEL,
    "near_duplicate": NEAR_DUPLICATE,
    "outlier": OUTLIER,
    "dark": DARK,
    "light": LIGHT,
    "blurry": BLURRY,
    "odd_size": ODD_SIZE,
}
IMAGE_PROPERTY_TYPES = ("dark", "light", "blurry", "odd_size")

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

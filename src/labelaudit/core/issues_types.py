"""Image review states shared by the scan, the app, consensus and export.

The issue bits moved to ``core/codes.py`` (``Issue``, ``ISSUE_BITS``, ``issue_names``).
"""

from __future__ import annotations

# Image review states (architecture.md §4).
UNFLAGGED = "unflagged"
NEEDS_VOTES = "needs_votes"
AGREED = "agreed"
NEEDS_LEAD = "needs_lead"
RESOLVED = "resolved"
DROPPED = "dropped"
BROKEN = "broken"
STALE = "stale"
STATES = (UNFLAGGED, NEEDS_VOTES, AGREED, NEEDS_LEAD, RESOLVED, DROPPED, BROKEN, STALE)

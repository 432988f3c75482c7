"""Read models in numpy (no Qt): the review grid's data, the detail pane, scan read-outs.

``grid`` holds the array operations (no I/O), ``load`` reads a project into :class:`ReviewData`,
``review_state`` adds each image's review state and the working person's votes. ``staleness``,
``issue_table`` (``labelaudit issues``) and ``findings`` (``labelaudit summary``, the report)
read a stored scan.
"""

from __future__ import annotations

from labelaudit.core.views.details import image_facts, scan_array_row, scan_embeddings
from labelaudit.core.views.grid import (
    BROKEN_BIT,
    DROP_VOTE,
    ISSUE_FILTERS,
    NO_VOTE,
    SHOWN,
    SHOWN_STATES,
    SLOT_EMPTY,
    SLOT_HEADER,
    SLOT_IMAGE,
    STATE_CODE,
    UNSURE_VOTE,
    ClassStats,
    Filters,
    GridView,
    ReviewData,
    SlotLayout,
    build_view,
    class_stats,
    filter_mask,
    most_confident,
    needs_me,
    next_in_view,
    noise_matrix,
    shown_states,
    slot_layout,
    top_classes,
    typical_rows,
)
from labelaudit.core.views.load import apply_scan, load_review_data

__all__ = [
    "BROKEN_BIT",
    "DROP_VOTE",
    "ISSUE_FILTERS",
    "NO_VOTE",
    "SHOWN",
    "SHOWN_STATES",
    "SLOT_EMPTY",
    "SLOT_HEADER",
    "SLOT_IMAGE",
    "STATE_CODE",
    "UNSURE_VOTE",
    "ClassStats",
    "Filters",
    "GridView",
    "ReviewData",
    "SlotLayout",
    "apply_scan",
    "build_view",
    "class_stats",
    "filter_mask",
    "image_facts",
    "load_review_data",
    "most_confident",
    "needs_me",
    "next_in_view",
    "noise_matrix",
    "scan_array_row",
    "scan_embeddings",
    "shown_states",
    "slot_layout",
    "top_classes",
    "typical_rows",
]

"""A lead puts images into review by hand, and takes that back (undo).

``add_to_review`` is the one-shot form (the CLI's ``review add``); ``commands.AddToReviewCommand``
(the app) calls ``request_by_lead`` and, on undo, ``withdraw_review_requests``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.consensus import annotators as reg
from labelaudit.core.consensus.image_refs import load_images
from labelaudit.core.consensus.votes import _chunks, _in_review, request_review
from labelaudit.core.store.auditlog import log_action
from labelaudit.core.store.engine import Store
from labelaudit.core.store.schema import review_requests


def add_to_review(store: Store, image_ids: Sequence[int], *, lead: str) -> list[int]:
    """Put images into review by hand; ``lead`` must be a registered lead (the actor logged).

    Every image gets a review request (it stays in review should a new scan stop flagging it).
    Returns the ids that were not in review before (not flagged, requested, voted on or stale).
    Logged once with the count. ``commands.AddToReviewCommand`` is the undoable form.
    """
    return request_by_lead(store, image_ids, lead=lead)[0]


def request_by_lead(
    store: Store, image_ids: Sequence[int], *, lead: str
) -> tuple[list[int], list[int]]:
    """``add_to_review``, returning (ids newly in review, ids whose lead request was new)."""
    already = _in_review(store, image_ids)

    def apply(conn: Connection) -> tuple[list[int], list[int]]:
        lead_row = reg.require_lead(conn, lead)
        load_images(conn, image_ids)
        requested = request_review(conn, image_ids, reason="lead", annotator_id=lead_row.id)
        added = [i for i in requested if i not in already]
        log_action(
            conn,
            "review_add",
            actor=lead_row.name,
            details={"images": len(set(image_ids)), "added": len(added)},
        )
        return added, requested

    return store.write(apply)


def withdraw_review_requests(store: Store, image_ids: Sequence[int], *, lead: str) -> None:
    """Undo ``request_by_lead``: remove the lead's review requests on ``image_ids`` (rows
    labelaudit created; the audit log keeps both actions). Images flagged or voted on stay in
    review."""

    def apply(conn: Connection) -> None:
        lead_row = reg.require_lead(conn, lead)
        wanted = sorted(set(int(i) for i in image_ids))
        for part in _chunks(wanted):
            conn.execute(
                sa.delete(review_requests).where(
                    review_requests.c.image_id.in_(part), review_requests.c.reason == "lead"
                )
            )
        log_action(conn, "review_add_undone", actor=lead_row.name, details={"images": len(wanted)})

    store.write(apply)

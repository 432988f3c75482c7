"""Every user action as a command with ``do``/``undo`` on a stack (glue's pattern).

The CLI, the app and the tests share one path: the app pushes commands on an ``UndoStack`` and the
CLI runs the same command objects once. Commands write through the store immediately; undo appends
a compensating record (votes are append-only) rather than deleting history.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import replace

from labelaudit.core.consensus.decisions import Decision
from labelaudit.core.consensus.resolution import (
    DecisionRecord,
    resolve,
    resolve_in,
    withdraw_decision,
)
from labelaudit.core.consensus.review_add import request_by_lead, withdraw_review_requests
from labelaudit.core.consensus.votes import (
    VoteRecord,
    VoteRequest,
    cast_votes,
    new_id,
    retract_votes_in,
)
from labelaudit.core.store.engine import Store


class Command(ABC):
    """One user action. ``do`` may be called again after ``undo`` (redo)."""

    #: Short text for menus and the audit log ("vote 3 on cat/001.jpg").
    text: str = ""

    @abstractmethod
    def do(self) -> None: ...

    @abstractmethod
    def undo(self) -> None: ...


class UndoStack:
    """Commands done so far, and those undone that can be redone."""

    def __init__(self, *, limit: int = 1000) -> None:
        self._done: list[Command] = []
        self._undone: list[Command] = []
        self._limit = limit
        self.listeners: list[Callable[[], None]] = []

    def push(self, command: Command) -> None:
        """Do ``command`` and remember it; a new action forgets the redo history."""
        command.do()
        self._done.append(command)
        del self._done[: -self._limit]
        self._undone.clear()
        self._notify()

    def undo(self) -> Command | None:
        if not self._done:
            return None
        command = self._done.pop()
        command.undo()
        self._undone.append(command)
        self._notify()
        return command

    def redo(self) -> Command | None:
        if not self._undone:
            return None
        command = self._undone.pop()
        command.do()
        self._done.append(command)
        self._notify()
        return command

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()
        self._notify()

    def _notify(self) -> None:
        for listener in self.listeners:
            listener()


# -- review commands (votes and lead decisions) ------------------------------------------------


class VoteCommand(Command):
    """Cast one vote; undo retracts it (the annotator's previous vote is current again).

    The first ``do`` uses ``vote_id`` when given; a redo casts a new vote with a fresh id.
    """

    def __init__(
        self,
        store: Store,
        *,
        annotator: str,
        image_id: int,
        decision: Decision | str,
        note: str | None = None,
        suggestion_shown: bool = False,
        vote_id: str | None = None,
    ) -> None:
        self.store = store
        self.request = VoteRequest(
            annotator, int(image_id), decision, note, suggestion_shown, vote_id or new_id()
        )
        self.record: VoteRecord | None = None
        self.text = f"vote {decision} on image {image_id}"

    def do(self) -> None:
        request = self.request
        if self.record is not None:  # redo: a new vote, the undone one stays retracted
            request = replace(request, vote_id=new_id())
        self.record = cast_votes(self.store, [request])[0]
        self.text = f"vote {self.record.class_name or self.record.kind} on {self.record.path}"

    def undo(self) -> None:
        if self.record is not None:
            annotator, vote_id = self.record.annotator, self.record.vote_id
            self.store.write(lambda conn: retract_votes_in(conn, annotator, [vote_id]))


class BulkVoteCommand(Command):
    """One decision on many images in one transaction; undo retracts them all."""

    def __init__(
        self,
        store: Store,
        *,
        annotator: str,
        image_ids: list[int],
        decision: Decision | str,
        note: str | None = None,
        suggestion_shown: bool = False,
    ) -> None:
        self.store = store
        self.annotator = annotator
        self.image_ids = [int(i) for i in image_ids]
        self.decision = decision
        self.note = note
        self.suggestion_shown = suggestion_shown
        self.records: list[VoteRecord] = []
        self.text = f"vote {decision} on {len(self.image_ids)} images"

    def do(self) -> None:
        requests = [
            VoteRequest(
                self.annotator, i, self.decision, self.note, self.suggestion_shown, new_id()
            )
            for i in self.image_ids
        ]
        self.records = cast_votes(self.store, requests)

    def undo(self) -> None:
        ids = [r.vote_id for r in self.records if r.created]
        if ids:
            self.store.write(lambda conn: retract_votes_in(conn, self.annotator, ids))


class ResolveCommand(Command):
    """A lead's final decision; undo withdraws it (the decision it superseded is current again)."""

    def __init__(
        self,
        store: Store,
        *,
        lead: str,
        image_id: int,
        decision: Decision | str,
        note: str | None = None,
        decision_id: str | None = None,
    ) -> None:
        self.store = store
        self.lead = lead
        self.image_id = int(image_id)
        self.decision = decision
        self.note = note
        self.decision_id = decision_id or new_id()
        self.record: DecisionRecord | None = None
        self.text = f"resolve image {image_id} as {decision}"

    def do(self) -> None:
        decision_id = self.decision_id if self.record is None else new_id()
        self.record = resolve(
            self.store,
            lead=self.lead,
            image_id=self.image_id,
            decision=self.decision,
            note=self.note,
            decision_id=decision_id,
        )
        self.text = f"resolve {self.record.path} as {self.record.class_name or self.record.kind}"

    def undo(self) -> None:
        if self.record is not None:
            withdraw_decision(self.store, lead=self.lead, decision_id=self.record.decision_id)


class ResolveManyCommand(Command):
    """A lead's final decisions on many images in ONE transaction; undo withdraws each one (the
    decisions they superseded are current again), as one step. ``decisions`` are (image id,
    decision, note)."""

    def __init__(
        self,
        store: Store,
        *,
        lead: str,
        decisions: Sequence[tuple[int, Decision | str, str | None]],
        text: str,
    ) -> None:
        self.store = store
        self.lead = lead
        self.decisions = [(int(i), d, note) for i, d, note in decisions]
        self.records: list[DecisionRecord] = []
        self.text = text

    @property
    def image_ids(self) -> list[int]:
        return [i for i, _, _ in self.decisions]

    def do(self) -> None:
        self.records = self.store.write(
            lambda conn: [
                resolve_in(
                    conn,
                    lead=self.lead,
                    image_id=image_id,
                    decision=decision,
                    note=note,
                    decision_id=new_id(),
                )
                for image_id, decision, note in self.decisions
            ]
        )

    def undo(self) -> None:
        for record in reversed(self.records):
            withdraw_decision(self.store, lead=self.lead, decision_id=record.decision_id)


class BulkResolveCommand(ResolveManyCommand):
    """One final decision (and note) on many selected images."""

    def __init__(
        self,
        store: Store,
        *,
        lead: str,
        image_ids: Sequence[int],
        decision: Decision | str,
        note: str | None = None,
    ) -> None:
        super().__init__(
            store,
            lead=lead,
            decisions=[(int(i), decision, note) for i in image_ids],
            text=f"resolve {len(image_ids)} images as {decision}",
        )


class AcceptCommand(ResolveManyCommand):
    """A lead accepts a proposed decision for many images (each its own: the consensus, the
    evidence's or the model's pick, ``core/views/lead_queue.py accept_picks``).

    ``picks`` are (image id, decision, where the decision came from); the origin is stored as
    the decision's note ("accepted consensus"), so exports and the audit log say why.
    """

    def __init__(self, store: Store, *, lead: str, picks: Sequence[tuple[int, Decision, str]]):
        first = picks[0] if picks else None
        super().__init__(
            store,
            lead=lead,
            decisions=[(int(i), d, f"accepted {origin}") for i, d, origin in picks],
            text=(
                f"accept {first[2]} ({first[1]}) on image {first[0]}"
                if first is not None and len(picks) == 1
                else f"accept the proposed decisions on {len(picks)} images"
            ),
        )


class AddToReviewCommand(Command):
    """A lead puts images into review; undo removes the review requests this command added
    (an image already requested, flagged or voted on stays in review)."""

    def __init__(self, store: Store, *, lead: str, image_ids: list[int]) -> None:
        self.store, self.lead, self.image_ids = store, lead, list(image_ids)
        self.added: list[int] = []  # newly in review (what the app reports)
        self._requested: list[int] = []  # lead requests this command inserted
        self.text = f"add {len(self.image_ids)} images to review"

    def do(self) -> None:
        self.added, self._requested = request_by_lead(self.store, self.image_ids, lead=self.lead)

    def undo(self) -> None:
        if self._requested:
            withdraw_review_requests(self.store, self._requested, lead=self.lead)

"""Commands for a decision on many selected images, built on the core's command pattern.

A lead's selection mixes images that wait for the lead (they are resolved) with images that still
need votes (the lead votes on them): one undo step covers both (:class:`CompositeCommand`).
"""

from __future__ import annotations

from collections.abc import Sequence

from labelaudit.core.commands import (
    BulkResolveCommand,
    BulkVoteCommand,
    Command,
    ResolveCommand,
    VoteCommand,
)
from labelaudit.core.consensus.annotators import Annotator
from labelaudit.core.consensus.decisions import Decision
from labelaudit.core.consensus.rules import lead_resolves
from labelaudit.core.store.engine import Store
from labelaudit.core.views import ReviewData


class CompositeCommand(Command):
    """Several commands as one undo step; a failure part-way undoes the parts already done."""

    def __init__(self, commands: Sequence[Command], *, text: str) -> None:
        self.commands = list(commands)
        self.text = text

    def do(self) -> None:
        done: list[Command] = []
        try:
            for command in self.commands:
                command.do()
                done.append(command)
        except Exception:
            for command in reversed(done):
                command.undo()
            raise

    def undo(self) -> None:
        for command in reversed(self.commands):
            command.undo()


def decision_command(
    data: ReviewData,
    store: Store,
    who: Annotator,
    decision: Decision | str,
    rows: list[int],
    *,
    note: str | None = None,
    suggestion_shown: bool = True,
) -> Command:
    """The command for one decision on ``rows`` (rows of ``data``): a lead resolves the images
    that wait for a lead, everything else gets ``who``'s vote; one undo step in every case."""
    to_lead = [r for r in rows if lead_resolves(who, int(data.state[r]))]  # core rule
    lead_set = set(to_lead)
    to_vote = [r for r in rows if r not in lead_set]
    if len(rows) == 1:
        image_id = int(data.image_ids[rows[0]])
        if to_lead:
            return ResolveCommand(
                store, lead=who.name, image_id=image_id, decision=decision, note=note
            )
        return VoteCommand(
            store,
            annotator=who.name,
            image_id=image_id,
            decision=decision,
            note=note,
            suggestion_shown=suggestion_shown and bool(data.suggested[rows[0]] >= 0),
        )
    parts: list[Command] = []
    if to_lead:
        ids = [int(data.image_ids[r]) for r in to_lead]
        parts.append(
            BulkResolveCommand(store, lead=who.name, image_ids=ids, decision=decision, note=note)
        )
    if to_vote:
        ids = [int(data.image_ids[r]) for r in to_vote]
        parts.append(
            BulkVoteCommand(
                store,
                annotator=who.name,
                image_ids=ids,
                decision=decision,
                note=note,
                suggestion_shown=suggestion_shown,
            )
        )
    if len(parts) == 1:
        return parts[0]
    text = f"resolve {len(to_lead)} and vote on {len(to_vote)} images as {decision}"
    return CompositeCommand(parts, text=text)

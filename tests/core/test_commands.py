"""The undo stack every user action goes through."""

from __future__ import annotations

from labelaudit.core.commands import Command, UndoStack


class Append(Command):
    def __init__(self, log: list[str], item: str) -> None:
        self.log, self.item, self.text = log, item, f"append {item}"

    def do(self) -> None:
        self.log.append(self.item)

    def undo(self) -> None:
        assert self.log.pop() == self.item


def test_undo_redo_and_new_action_clears_redo() -> None:
    log: list[str] = []
    stack = UndoStack()
    changes: list[int] = []
    stack.listeners.append(lambda: changes.append(1))
    stack.push(Append(log, "a"))
    stack.push(Append(log, "b"))
    assert stack.undo().text == "append b" and log == ["a"]
    assert stack.can_redo
    assert stack.redo().text == "append b" and log == ["a", "b"]
    stack.undo()
    stack.push(Append(log, "c"))
    assert log == ["a", "c"] and not stack.can_redo
    assert stack.undo() and stack.undo() and stack.undo() is None and log == []
    assert len(changes) == 8


def test_limit_keeps_the_latest() -> None:
    log: list[str] = []
    stack = UndoStack(limit=2)
    for item in "abc":
        stack.push(Append(log, item))
    assert stack.undo() and stack.undo() and not stack.can_undo
    assert log == ["a"]

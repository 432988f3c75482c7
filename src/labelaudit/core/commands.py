"""Every user action as a command with ``do``/``undo`` on a stack (glue's pattern).

The CLI, the app and the tests share one path: the app pushes commands on an ``UndoStack`` and the
CLI runs the same command objects once. Commands write through the store immediately; undo appends
a compensating record (votes are append-only) rather than deleting history.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable


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

"""What an annotator or a lead decides about one image, and how it is typed on the CLI.

A decision is ``keep`` (the given label is right), a class name (relabel; naming the given class
is the same as keep), ``drop`` (the image does not belong in the dataset) or ``unsure`` (abstain).
The words ``keep``, ``drop`` and ``unsure`` are reserved: ``class:NAME`` names a class that is
literally called one of them.

Array codes shared by the consensus code: a class index ``0..K-1``, ``DROP_CODE`` for drop and
``NO_DECISION`` where there is none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from labelaudit.core.codes import Verdict
from labelaudit.core.errors import InputError
from labelaudit.core.paths import nfc

KEEP = "keep"
LABEL = "label"
DROP = "drop"
UNSURE = "unsure"
RESERVED = (KEEP, DROP, UNSURE)
CLASS_PREFIX = "class:"

# Aliases of ``codes.Verdict`` (one encoding; see there for the VoteMatrix conversion).
NO_DECISION = Verdict.NONE
DROP_CODE = Verdict.DROP


@dataclass(frozen=True)
class Decision:
    """``kind`` is keep | label | drop | unsure; ``class_name`` is set for label only."""

    kind: str
    class_name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in (KEEP, LABEL, DROP, UNSURE):
            raise InputError(f"unknown decision kind {self.kind!r}")
        if (self.kind == LABEL) != (self.class_name is not None):
            raise InputError("a label decision names exactly one class")

    def __str__(self) -> str:
        return format_class(self.class_name) if self.class_name is not None else self.kind


def format_class(name: str) -> str:
    """A class name as typed on the CLI: reserved words get the ``class:`` prefix."""
    return CLASS_PREFIX + name if name in RESERVED or name.startswith(CLASS_PREFIX) else name


def parse_decision(
    text: str, class_names: Sequence[str], *, accepted: Sequence[str] = RESERVED
) -> Decision:
    """Parse ``keep``, ``drop``, ``unsure``, ``class:NAME`` or a class name (exact, after NFC).

    ``accepted`` are the words the caller takes (a lead's decision: keep and drop); the error for
    an unknown class offers only those."""
    raw = nfc(text.strip())
    if raw in RESERVED:
        return Decision(raw)
    name = raw[len(CLASS_PREFIX) :] if raw.startswith(CLASS_PREFIX) else raw
    if name in class_names:
        return Decision(LABEL, name)
    shown = ", ".join(format_class(c) for c in class_names[:20])
    more = ", ..." if len(class_names) > 20 else ""
    raise InputError(
        f"unknown class {text.strip()!r}: expected {', '.join(accepted)} or a class name "
        f"({shown}{more})"
    )

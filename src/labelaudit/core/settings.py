"""Project settings: names, defaults, parsing and validation (stored as JSON in ``settings``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from labelaudit.core.codes import ISSUE_BITS
from labelaudit.core.errors import InputError
from labelaudit.core.store.schema import settings as settings_table

ISSUE_TYPES = tuple(ISSUE_BITS)


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise InputError(f"expected true or false, got {text!r}")


def _parse_int_min1(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise InputError(f"expected a whole number >= 1, got {value}")
    return value


def _parse_fraction(text: str) -> str:
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise InputError(f"expected a fraction such as 2/3 or 0.5, got {text!r}") from None
    if not 0 <= value <= 1:
        raise InputError(f"expected a fraction between 0 and 1, got {text!r}")
    return f"{value.numerator}/{value.denominator}"


def _parse_issue_types(text: str) -> list[str]:
    items = [t.strip().replace("-", "_") for t in text.split(",") if t.strip()]
    unknown = [t for t in items if t not in ISSUE_TYPES]
    if unknown or not items:
        raise InputError(f"expected a comma list of {', '.join(ISSUE_TYPES)}, got {text!r}")
    return sorted(set(items), key=ISSUE_TYPES.index)


def _parse_threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise InputError(f"expected a number between 0 and 1, got {text!r}")
    return value


def _parse_target(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"expected a number in (0, 1], such as 0.98, got {text!r}") from None
    if not 0 < value <= 1:  # also rejects nan
        raise InputError(f"expected a number in (0, 1], such as 0.98, got {text!r}")
    return value


@dataclass(frozen=True)
class Setting:
    default: Any
    parse: Callable[[str], Any]
    help: str


SETTINGS: dict[str, Setting] = {
    "votes_required": Setting(
        3, _parse_int_min1, "votes from different annotators per image (1 = solo)"
    ),
    "target_accuracy": Setting(
        0.98,
        _parse_target,
        "settle an image when the estimated probability that its consensus label is right "
        "reaches this; else ask one more vote, else the lead decides",
    ),
    "min_agreement": Setting(
        "0",
        _parse_fraction,
        "override: share of votes the consensus needs, else the lead "
        "decides (0 = off: target_accuracy decides)",
    ),
    "blind": Setting(True, _parse_bool, "annotators see no other votes before voting"),
    "show_suggestion": Setting(True, _parse_bool, "show the model's suggested label before voting"),
    "review_issue_types": Setting(
        ["label"], _parse_issue_types, "issue types that put an image into review"
    ),
    "min_consensus_quality": Setting(
        0.0,
        _parse_threshold,
        "override: consensus quality below which the lead decides (0 = off)",
    ),
}


def _check_key(key: str) -> Setting:
    if key not in SETTINGS:
        raise InputError(f"unknown setting {key!r}; known: {', '.join(SETTINGS)}")
    return SETTINGS[key]


def read_all(conn: Connection) -> dict[str, Any]:
    stored = dict(conn.execute(sa.select(settings_table.c.key, settings_table.c.value)).all())
    return {k: json.loads(stored[k]) if k in stored else s.default for k, s in SETTINGS.items()}


def read(conn: Connection, key: str) -> Any:
    _check_key(key)
    return read_all(conn)[key]


def parse(key: str, text: str) -> Any:
    """The value of ``key`` given as text; an error names the setting (``key: expected ...``)."""
    setting = _check_key(key)
    try:
        return setting.parse(text)
    except InputError as exc:
        raise InputError(f"{key}: {exc}") from None


def write(conn: Connection, key: str, value: Any) -> None:
    _check_key(key)
    encoded = json.dumps(value)
    updated = conn.execute(
        sa.update(settings_table).where(settings_table.c.key == key).values(value=encoded)
    ).rowcount
    if not updated:
        conn.execute(sa.insert(settings_table).values(key=key, value=encoded))


def fraction(text: str) -> Fraction:
    return Fraction(text)

"""CSV cells that a spreadsheet cannot run as formulas (OWASP "CSV injection").

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with
a ``'`` in front, which spreadsheets read as "this is text". A plain number (``-0.5``, ``+3``,
``1e-05``) is left as it is: a spreadsheet reads it as a number, never as a formula, so numeric
columns keep their values. So that reading the file back is lossless, a cell that already starts
with ``'`` followed by one of those characters or another ``'`` gets one more ``'``:
``unescape_cell`` removes exactly the one ``'`` that ``escape_cell`` added.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _would_be_unescaped(text: str) -> bool:
    return len(text) > 1 and text[0] == QUOTE and (text[1] in DANGEROUS or text[1] == QUOTE)


def escape_cell(value: Any) -> Any:
    """``value`` safe to open in a spreadsheet; anything but text is returned unchanged."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in DANGEROUS and not _NUMBER.fullmatch(value):
        return QUOTE + value
    if _would_be_unescaped(value):
        return QUOTE + value
    return value


def unescape_cell(text: str) -> str:
    """The value ``escape_cell`` was given: drops the one ``'`` it added, nothing else."""
    return text[1:] if _would_be_unescaped(text) else text


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [escape_cell(v) for v in row]


class SafeWriter:
    """``csv.writer`` whose every cell goes through ``escape_cell``. A cell holding a carriage
    return is quoted too (``csv`` quotes only the characters of its line terminator, and a bare
    CR unquoted splits the row for every reader)."""

    def __init__(self, out: TextIO, *, lineterminator: str = "\n", **kwargs: Any) -> None:
        self._out = out
        self._end = lineterminator
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, lineterminator="\r\n", **kwargs)

    def writerow(self, row: Iterable[Any]) -> None:
        self._buf.seek(0)
        self._buf.truncate()
        self._writer.writerow(safe_row(row))
        self._out.write(self._buf.getvalue()[:-2] + self._end)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter:
    """``csv.DictWriter`` (missing keys written empty) through ``SafeWriter``."""

    def __init__(self, out: TextIO, fieldnames: Iterable[str], **kwargs: Any) -> None:
        self.fieldnames = list(fieldnames)
        self._writer = SafeWriter(out, **kwargs)

    def writeheader(self) -> None:
        self._writer.writerow(self.fieldnames)

    def writerow(self, row: Mapping[str, Any]) -> None:
        extra = set(row) - set(self.fieldnames)
        if extra:
            raise ValueError(f"fields not in fieldnames: {', '.join(sorted(extra))}")
        self._writer.writerow([row.get(k, "") for k in self.fieldnames])

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.writerow(row)

"""Helpers shared by the review sub-commands (vote, votes, consensus, resolve, review, queue)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from labelaudit.cli.common import write_atomically
from labelaudit.core.codes import Verdict
from labelaudit.core.consensus.annotators import get_annotator
from labelaudit.core.consensus.rules import visible_to
from labelaudit.core.consensus.states import Review
from labelaudit.core.project import Project


def add_viewer_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as",
        dest="viewer",
        metavar="NAME",
        help="read as this annotator: with the blind setting on, a non-lead sees no other "
        "votes on an image before voting on it",
    )


def hidden_images(project: Project, review: Review, viewer: str | None) -> Any:
    """Image ids whose votes ``viewer`` may not see (empty without a viewer)."""
    viewer_id = get_annotator(project.store, viewer).id if viewer else None
    return review.image_ids[~visible_to(review, viewer_id)]


def class_label(code: int, class_names: list[str]) -> str:
    """A consensus code as text: a class name, 'drop', or '' for none."""
    if code >= 0:
        return class_names[code]
    return "drop" if code == Verdict.DROP else ""


def emit(text: str, path: Path | None) -> None:
    """Print ``text`` or write it to ``path`` whole (see ``write_atomically``)."""
    if path is None or str(path) == "-":
        sys.stdout.write(text)
        return
    write_atomically(path, lambda fh: fh.write(text))


def csv_cell(value: Any) -> Any:
    """Booleans as lowercase true/false, as every CSV of labelaudit writes them."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return value


def fmt(value: float, digits: int = 4) -> str:
    return "" if value != value else f"{value:.{digits}f}"  # nan -> ''

"""``labelaudit export --format labelstudio-review|cvat-review``: the images to review as tasks
for the labelling tool, written to a temporary folder beside DIR and renamed into place.

DIR holds ``review.json`` (what was exported, with every prior vote's id), and per format:
``labelstudio/tasks.json`` + ``labelstudio/config.xml``, or ``cvat/annotations.xml`` +
``cvat/images.txt`` (the image paths, relative to the image root, for making the task) +
``cvat/labels.json`` (the classes as tag labels, for CVAT's raw label editor).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelaudit.core.consensus.methods import AUTO
from labelaudit.core.errors import InputError
from labelaudit.core.export.indexfiles import choices_config, dumps
from labelaudit.core.interop import cvat, labelstudio
from labelaudit.core.interop.review_items import ReviewItem, review_items
from labelaudit.core.paths import is_within
from labelaudit.core.store.engine import Store

REVIEW_FORMATS = ("labelstudio-review", "cvat-review")
MARKER = "review.json"
OWN_FILES = {
    MARKER,
    "labelstudio/tasks.json",
    "labelstudio/config.xml",
    "cvat/annotations.xml",
    "cvat/images.txt",
    "cvat/labels.json",
}


@dataclass(frozen=True)
class ReviewExport:
    out_dir: Path
    images: int
    votes: int
    files: list[str]


def split_formats(text: str) -> tuple[str, ...] | None:
    """The review formats named by ``--format`` (None: none named; mixing is refused)."""
    items = [p.strip().lower() for p in text.split(",") if p.strip()]
    review = tuple(dict.fromkeys(i for i in items if i in REVIEW_FORMATS))
    if review and len(review) != len(items):
        raise InputError(
            f"{' and '.join(REVIEW_FORMATS)} write review tasks only: give them without "
            "imagefolder, csv or labelstudio"
        )
    return review or None


def _texts(
    items: list[ReviewItem], formats: tuple[str, ...], classes: list[str], name: str
) -> dict[str, str]:
    texts: dict[str, str] = {}
    if "labelstudio-review" in formats:
        texts["labelstudio/tasks.json"] = dumps(labelstudio.review_tasks(items))
        texts["labelstudio/config.xml"] = choices_config(classes)
    if "cvat-review" in formats:
        texts["cvat/annotations.xml"] = cvat.review_xml(items, classes, task_name=name)
        texts["cvat/images.txt"] = "".join(f"{i.path}\n" for i in items)
        texts["cvat/labels.json"] = dumps(
            [{"name": c, "type": "tag", "attributes": []} for c in classes]
        )
    summary: dict[str, Any] = {
        "labelaudit_review": 1,
        "formats": list(formats),
        "classes": classes,
        "images": [i.as_data() for i in items],
    }
    texts[MARKER] = dumps(summary)
    return texts


def _check_out(out: Path, image_root: Path, force: bool) -> None:
    if is_within(out, image_root):
        raise InputError(f"{out} is inside the image root {image_root}: write the tasks elsewhere")
    if not out.parent.is_dir():
        raise InputError(f"cannot write {out}: the folder {out.parent} does not exist")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not force:
            raise InputError(f"{out} exists and is not empty (--force replaces a review export)")
        if not _is_review_export(out):
            raise InputError(
                f"{out} holds files a review export did not write: not replaced (--force "
                "replaces only a previous review export)"
            )


def _is_review_export(folder: Path) -> bool:
    """A folder holding a review export's files and nothing else (nothing of yours is replaced)."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}
    return isinstance(marker, dict) and marker.get("labelaudit_review") == 1 and files <= OWN_FILES


def export_review(
    store: Store,
    out_dir: Path,
    formats: tuple[str, ...],
    *,
    image_root: Path,
    class_names: list[str],
    method: str = AUTO,
    force: bool = False,
) -> ReviewExport:
    """Write the review tasks (see the module docstring); nothing is left half-written."""
    out = Path(os.path.abspath(out_dir))
    _check_out(out, image_root, force)
    items = review_items(store, method=method)
    if not items:
        raise InputError("nothing to review: no image is waiting for votes or for the lead")
    texts = _texts(items, formats, class_names, name=f"labelaudit review {out.name}")
    tmp = out.with_name(f".{out.name}.review-{os.getpid()}")
    aside = out.with_name(f".{out.name}.old-{os.getpid()}")
    try:
        for rel, text in texts.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text, encoding="utf-8", newline="\n")
        if out.exists():
            os.replace(out, aside)
        os.replace(tmp, out)
    except OSError as exc:
        if aside.exists() and not out.exists():
            os.replace(aside, out)
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(aside, ignore_errors=True)
    votes = sum(len(i.votes) for i in items)
    return ReviewExport(out, len(items), votes, sorted(texts))

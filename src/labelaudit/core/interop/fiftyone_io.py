"""FiftyOne datasets in: the two image-classification dataset types it exports as plain files,
read without the ``fiftyone`` package, and a live dataset's ``Classification`` fields when that
optional package is installed.

- ``FiftyOneImageClassificationDataset``: ``DIR/labels.json`` (``classes`` and ``labels``: file
  stem -> class index, class name, ``{"label": ...}`` or null) and the images in ``DIR/data/``.
- ``ImageClassificationDirectoryTree``: ``DIR/<class>/<image>`` (nested folders allowed).
A live dataset's ``given_field`` (default ``ground_truth``) gives the given label; every other
``Classification`` field is a vote under the field's name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from labelaudit.core.errors import InputError
from labelaudit.core.interop.labelstudio import load_json
from labelaudit.core.interop.model import (
    ForeignExport,
    ForeignImage,
    ForeignVote,
    Resolver,
    bad_record,
    class_name,
    stable_id,
)
from labelaudit.core.paths import has_image_extension, is_hidden, nfc

LABELS_FILE = "labels.json"
DATA_DIR = "data"


def read_dir(folder: Path, *, image_root: Path, allowed: set[str] | None) -> ForeignExport:
    """Either exported dataset type, told apart by ``labels.json``."""
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder (a FiftyOne export is a folder)")
    if (folder / LABELS_FILE).is_file():
        return _read_labels_json(folder, image_root=image_root, allowed=allowed)
    return _read_tree(folder, image_root=image_root, allowed=allowed)


def _target(source: Path, record: str, value: Any, classes: list[str]) -> Any:
    if isinstance(value, dict):
        value = value.get("label")
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < len(classes):
            raise bad_record(source, record, f"class index {value} is not in 'classes'")
        return classes[value]
    if value is not None and not isinstance(value, str):
        raise bad_record(source, record, f"not a single class label: {value!r}")
    return value


def _read_labels_json(folder: Path, *, image_root: Path, allowed: set[str] | None) -> ForeignExport:
    source = folder / LABELS_FILE
    doc = load_json(source)
    if not isinstance(doc, dict) or not isinstance(doc.get("labels"), dict):
        raise InputError(f"{source}: no 'labels' object; nothing was imported")
    classes = [nfc(str(c).strip()) for c in doc.get("classes") or []]
    out = ForeignExport("fiftyone", source, classes=sorted(set(classes)))
    known = set(classes) if classes else allowed
    files = _data_files(folder / DATA_DIR)
    resolver = Resolver(source, image_root, [])
    for stem, value in doc["labels"].items():
        record = f"labels[{stem!r}]"
        if stem not in files:
            raise bad_record(source, record, f"unknown image: no {stem}.* in {folder / DATA_DIR}")
        rel = resolver.relpath(record, os.path.abspath(files[stem]))
        label = _target(source, record, value, classes)
        name = class_name(source, record, label, known) if label is not None else None
        out.images.append(ForeignImage(rel, name, record))
    return out


def _data_files(data: Path) -> dict[str, Path]:
    if not data.is_dir():
        raise InputError(f"no {DATA_DIR}/ folder beside {data.parent / LABELS_FILE}")
    return {
        p.stem: p
        for p in sorted(data.iterdir())
        if p.is_file() and has_image_extension(p.name) and not is_hidden(p.name)
    }


def _read_tree(folder: Path, *, image_root: Path, allowed: set[str] | None) -> ForeignExport:
    out = ForeignExport("fiftyone", folder)
    resolver = Resolver(folder, image_root, [])
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not is_hidden(d))
        rel_top = Path(top).relative_to(folder)
        for f in sorted(files):
            if is_hidden(f) or not has_image_extension(f):
                continue
            record = (rel_top / f).as_posix()
            if not rel_top.parts:
                raise bad_record(folder, record, "an image outside any class folder")
            rel = resolver.relpath(record, os.path.abspath(Path(top, f)))
            label = class_name(folder, record, rel_top.parts[0], allowed)
            out.images.append(ForeignImage(rel, label, record))
    if not out.images:
        raise InputError(f"{folder}: no images in class folders (and no {LABELS_FILE})")
    return out


def read_live(
    name: str, *, image_root: Path, given_field: str, allowed: set[str] | None
) -> ForeignExport:
    """A dataset in the local FiftyOne database (needs the optional ``fiftyone`` package)."""
    try:
        import fiftyone as fo  # optional, not a dependency
    except ImportError:
        raise InputError(
            "reading a live FiftyOne dataset needs the fiftyone package (pip install fiftyone); "
            "or export it as FiftyOneImageClassificationDataset and give that folder"
        ) from None
    if name not in fo.list_datasets():
        raise InputError(f"no FiftyOne dataset called {name!r}")
    dataset = fo.load_dataset(name)
    schema = dataset.get_field_schema()
    fields = [f for f, kind in schema.items() if "Classification" in str(kind)]
    if given_field not in fields:
        raise InputError(f"{name}: no Classification field {given_field!r} (found: {fields})")
    source = Path(f"fiftyone:{name}")
    out = ForeignExport("fiftyone", source)
    resolver = Resolver(source, image_root, [])
    for sample in dataset:
        record = f"sample {sample.id}"
        rel = resolver.relpath(record, sample.filepath)
        given = None
        for f in fields:
            value = sample[f]
            if value is None:
                continue
            label = class_name(source, record, value.label, allowed)
            if f == given_field:
                given = label
            else:
                vote_id = stable_id("fiftyone", name, sample.id, f, label)
                out.votes.append(ForeignVote(f, rel, label, vote_id, None, record))
        out.images.append(ForeignImage(rel, given, record))
    return out

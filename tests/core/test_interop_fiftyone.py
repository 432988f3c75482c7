"""FiftyOne in: FiftyOneImageClassificationDataset (labels.json + data/) and
ImageClassificationDirectoryTree, read as plain files; a live dataset only with ``fiftyone``."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from helpers import write_image
from interop_helpers import FIXTURES, load, project_from, write_json
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.errors import InputError
from labelaudit.core.interop import fiftyone_io

STEMS = ("5f1a0001", "5f1a0002", "5f1a0003", "5f1a0004")


def _exported(folder: Path) -> Path:
    """A FiftyOneImageClassificationDataset export: data/<uuid>.png and labels.json."""
    for i, stem in enumerate(STEMS):
        write_image(folder / "data" / f"{stem}.png", seed=700 + i)
    shutil.copyfile(FIXTURES / "fiftyone_labels.json", folder / "labels.json")
    return folder


def test_labels_json_dataset(tmp_path: Path) -> None:
    folder = _exported(tmp_path / "fo")
    export = fiftyone_io.read_dir(folder, image_root=folder / "data", allowed=None)
    assert {i.path: i.label for i in export.images} == {
        "5f1a0001.png": "cat",  # a class index
        "5f1a0002.png": "dog",  # an index again
        "5f1a0003.png": "chouette-été",  # {"label": ..., "confidence": ...}
        "5f1a0004.png": None,  # unlabelled
    }
    assert export.votes == [] and export.classes == ["cat", "chouette-été", "dog"]
    project = project_from(tmp_path / "proj", folder / "data", export)
    try:
        cat = load_catalog(project.store)
        assert len(cat) == 4 and sorted(cat.class_names) == ["cat", "chouette-été", "dog"]
    finally:
        project.close()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["labels"].update({"5f1a0009": 0}), "labels['5f1a0009']: unknown image"),
        (lambda d: d["labels"].update({"5f1a0001": 5}), "class index 5 is not in 'classes'"),
        (lambda d: d["labels"].update({"5f1a0002": ["cat", "dog"]}), "not a single class label"),
        (lambda d: d.pop("labels"), "no 'labels' object"),
    ],
)
def test_bad_labels_json(change, message: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _exported(tmp_path / "fo")
    doc = load("fiftyone_labels.json")
    change(doc)
    write_json(folder / "labels.json", doc)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("(", r"\(")):
        fiftyone_io.read_dir(folder, image_root=folder, allowed=None)


def test_directory_tree_dataset(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    write_image(tree / "cat" / "a.png", seed=1)
    write_image(tree / "chouette-été" / "nested" / "ü.png", seed=2)
    export = fiftyone_io.read_dir(tree, image_root=tree, allowed=None)
    assert {i.path: i.label for i in export.images} == {
        "cat/a.png": "cat",
        "chouette-été/nested/ü.png": "chouette-été",
    }
    with pytest.raises(InputError, match="unknown class 'chouette-été'"):
        fiftyone_io.read_dir(tree, image_root=tree, allowed={"cat"})
    with pytest.raises(InputError, match="not under the image root"):
        fiftyone_io.read_dir(tmp_path / "tree", image_root=tree / "cat", allowed=None)
    write_image(tree / "stray.png", seed=3)
    with pytest.raises(InputError, match=r"stray\.png: an image outside any class folder"):
        fiftyone_io.read_dir(tree, image_root=tree, allowed=None)


def test_live_dataset_needs_fiftyone(tmp_path: Path) -> None:
    if importlib.util.find_spec("fiftyone") is not None:
        pytest.skip("fiftyone is installed: test_live_dataset covers it")
    with pytest.raises(InputError, match="needs the fiftyone package"):
        fiftyone_io.read_live("pets", image_root=tmp_path, given_field="ground_truth", allowed=None)


@pytest.mark.skipif(importlib.util.find_spec("fiftyone") is None, reason="fiftyone not installed")
def test_live_dataset(tmp_path: Path) -> None:  # pragma: no cover - optional package
    import fiftyone as fo

    root = tmp_path / "imgs"
    paths = [write_image(root / f"{i}.png", seed=i) for i in range(2)]
    dataset = fo.Dataset(f"labelaudit-test-{tmp_path.name}")
    try:
        for path, (gt, other) in zip(paths, [("cat", "dog"), ("dog", "dog")], strict=True):
            dataset.add_sample(
                fo.Sample(
                    filepath=str(path),
                    ground_truth=fo.Classification(label=gt),
                    reviewer=fo.Classification(label=other),
                )
            )
        export = fiftyone_io.read_live(
            dataset.name, image_root=root, given_field="ground_truth", allowed=None
        )
        assert {i.path: i.label for i in export.images} == {"0.png": "cat", "1.png": "dog"}
        assert sorted((v.annotator, v.label) for v in export.votes) == [
            ("reviewer", "dog"),
            ("reviewer", "dog"),
        ]
    finally:
        dataset.delete()

"""Import sources and boundaries: the recorded source is reused, nothing outside the image root
(or inside a project folder) is imported, the pixel limit is ours, the image root can move."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from helpers import make_tree, write_image
from labelaudit.core.dataset.source import ImportSource
from labelaudit.core.errors import InputError, ProjectError
from labelaudit.core.project import Project
from labelaudit.core.store.schema import classes, images


def _labels(project: Project) -> dict[str, str | None]:
    with project.store.read() as conn:
        rows = conn.execute(
            sa.select(images.c.path, classes.c.name).select_from(
                images.outerjoin(classes, images.c.class_id == classes.c.id)
            )
        )
        return dict(rows.all())


def test_reimport_reuses_the_recorded_manifest_and_classes(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"x": 3})
    manifest = tmp_path / "labels.csv"
    manifest.write_text("path,label\nx/0000.png,cat\nx/0001.png,dog\nx/0002.png,owl\n")
    with Project.create(tmp_path / "p", root) as project:
        first = ImportSource(manifest, ("cat", "dog"))
        project.import_images(source=first, workers=1)
        assert project.import_source() == first
    write_image(root / "x" / "unlisted.png", seed=77)
    with Project.open(tmp_path / "p") as project:
        report = project.import_images(workers=1)  # no source given: the recorded one
        assert _labels(project) == {"x/0000.png": "cat", "x/0001.png": "dog", "x/0002.png": None}
        assert [(p.path, p.reason) for p in report.problems] == [("x/0002.png", "unknown_label")]
        # Switching to the folder walk is explicit, and then it is remembered.
        project.import_images(source=ImportSource(None, None), workers=1)
        assert set(_labels(project).values()) == {"x"}
        assert project.import_source() == ImportSource(None, None)


def test_manifest_path_through_a_symlinked_folder_is_refused(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"a": 2})
    outside = make_tree(tmp_path / "secret", {"s": 1}, seed=5)
    os.symlink(outside / "s", root / "door")
    os.symlink(root / "a", root / "alias")  # a symlinked folder that stays inside is fine
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\na/0000.png,a\ndoor/0000.png,a\nalias/0001.png,b\n")
    with Project.create(tmp_path / "p", root) as project:
        report = project.import_images(manifest=manifest, workers=1)
        assert [(p.path, p.reason) for p in report.problems] == [
            ("door/0000.png", "symlink_outside_root")
        ]
        assert set(_labels(project)) == {"a/0000.png", "alias/0001.png"}
        walked = project.discover()  # the walk does not follow symlinked folders at all
        assert ("door", "symlink_outside_root") in [(p.path, p.reason) for p in walked.problems]
        assert not any(c.path.startswith("door/") for c in walked.candidates)


def test_project_moved_into_the_image_root_is_refused(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"a": 2})
    Project.create(tmp_path / "p", root).close()
    shutil.move(tmp_path / "p", root / "a" / "p")
    with (
        Project.open(root / "a" / "p") as project,
        pytest.raises(ProjectError, match="inside the image root"),
    ):
        project.import_images(workers=1)


def test_walk_skips_folders_holding_a_labelaudit_project(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"a": 2, "b": 1})
    old = root / "a" / "old_project"
    write_image(old / "thumbs" / "t.png", seed=9)
    (old / "labelaudit.db").write_bytes(b"")
    other = root / "b" / "other"
    write_image(other / "x.png", seed=10)
    (other / "project.json").write_text(json.dumps({"labelaudit_project": 1}))
    foreign = root / "b" / "foreign"  # a project.json of some other tool is no reason to skip
    write_image(foreign / "y.png", seed=11)
    (foreign / "project.json").write_text("{}")
    with Project.create(tmp_path / "p", root) as project:
        report = project.import_images(workers=1)
        assert report.skipped_projects == ["a/old_project", "b/other"]
        assert set(_labels(project)) == {
            "a/0000.png",
            "a/0001.png",
            "b/0000.png",
            "b/foreign/y.png",
        }


def test_max_pixels_overrides_pillows_own_limit(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "images"
    write_image(root / "a" / "small.png", size=(20, 20))
    Image.new("L", (1200, 1000)).save(root / "a" / "big.png")  # zeros: a tiny file
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # as if Pillow's default were low
    with Project.create(tmp_path / "p", root) as project:
        with pytest.raises(InputError, match="--max-pixels"):
            project.import_images(max_pixels=-1, workers=1)
        assert project.import_images(max_pixels=2_000_000, workers=1).problems == []
        report = project.import_images(max_pixels=100, workers=1, rehash=True)
        assert {(p.path, p.reason) for p in report.problems} == {
            ("a/big.png", "too_large"),
            ("a/small.png", "too_large"),
        }
        assert project.import_images(max_pixels=0, workers=1, rehash=True).problems == []
        with pytest.raises(InputError, match="--workers"):
            project.import_images(workers=-2)
    assert Image.MAX_IMAGE_PIXELS == 1_000_000  # the global is restored after each decode


def test_image_root_is_repointed_after_a_sha256_check(tmp_path: Path, tiny_tree: Path) -> None:
    with Project.create(tmp_path / "p", tiny_tree) as project:
        project.import_images(workers=1)
    stranger = make_tree(tmp_path / "stranger", {"cat": 6, "dog": 5, "owl": 4}, seed=3)
    with Project.open(tmp_path / "p") as project:
        with pytest.raises(InputError, match="does not hold this project's images"):
            project.repoint_image_root(stranger)
        assert project.image_root == tiny_tree
    copy = tmp_path / "mounted" / "images"
    shutil.copytree(tiny_tree, copy)
    with Project.open(tmp_path / "p") as project:
        project.repoint_image_root(copy)
        assert project.import_images(workers=1).unchanged == 15
    with Project.open(tmp_path / "p") as project:
        assert project.image_root == copy
        info = json.loads((tmp_path / "p" / "project.json").read_text())
        assert info["image_root"] == str(copy)


def _export_like_copy(source: Path, target: Path) -> None:
    """Like an export's train folder: most files at their paths, a relabelled one in another
    class folder, some left out (they went to val)."""
    for path in sorted(source.rglob("*.png")):
        rel = path.relative_to(source).as_posix()
        if rel in ("cat/0001.png", "dog/0002.png", "owl/0003.png"):
            continue  # in the val split
        dest = target / ("dog/0000__from_cat.png" if rel == "cat/0000.png" else rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)


def test_repoint_to_a_partial_or_altered_copy_is_refused(
    tmp_path: Path, tiny_tree: Path, backend: str | None
) -> None:
    with Project.create(tmp_path / "p", tiny_tree, db_url=backend) as project:
        project.import_images(workers=1)
    before = (tmp_path / "p" / "project.json").read_bytes()
    export_train = tmp_path / "out_keep" / "train"
    _export_like_copy(tiny_tree, export_train)
    altered = tmp_path / "altered"
    shutil.copytree(tiny_tree, altered)
    for path in altered.rglob("*.png"):  # same paths, other bytes: every sampled file differs
        write_image(path, seed=999)
    with Project.open(tmp_path / "p") as project:
        labels = _labels(project)
        with pytest.raises(InputError, match=r"4 of 15 files are not at their stored paths"):
            project.repoint_image_root(export_train)
        with pytest.raises(InputError, match=r"15 of 15 sampled files differ"):
            project.repoint_image_root(altered)
        assert project.image_root == tiny_tree
        assert _labels(project) == labels
    assert (tmp_path / "p" / "project.json").read_bytes() == before
    with Project.open(tmp_path / "p") as project:
        assert project.image_root == tiny_tree  # the database's root is untouched too
        # Forced, the differences become visible: the moved file counts as a given-label change.
        check = project.repoint_image_root(export_train, force=True)
        assert not check.same and len(check.absent) == 4
        report = project.import_images(workers=1)
        assert (report.moved, report.relabelled, report.missing) == (1, 1, 3)
        assert _labels(project)["dog/0000__from_cat.png"] == "dog"

"""Import: every bad input recorded with its reason, sources untouched, re-import keeps votes."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from helpers import make_tree, tree_fingerprint, write_image
from labelaudit.core.dataset import importer, workers
from labelaudit.core.errors import InputError, ProjectError
from labelaudit.core.project import Project
from labelaudit.core.store.schema import annotators, images, review_requests, votes
from labelaudit.core.views.project_info import project_info


def _rows(project: Project) -> dict[str, dict]:
    with project.store.read() as conn:
        rows = conn.execute(sa.select(images)).mappings().all()
    return {r["path"]: dict(r) for r in rows}


def _problems(report) -> dict[str, str]:
    return {p.path: p.reason for p in report.problems}


@pytest.fixture
def new_project(tmp_path: Path):
    created: list[Project] = []

    def make(root: Path, **kw) -> Project:
        proj = Project.create(tmp_path / f"proj{len(created)}", root, **kw)
        created.append(proj)
        return proj

    yield make
    for proj in created:
        proj.close()


def test_folder_import_formats_and_facts(tmp_path: Path, new_project) -> None:
    root = tmp_path / "images"
    for i, (ext, fmt) in enumerate(
        [
            ("jpg", "JPEG"),
            ("jpeg", "JPEG"),
            ("png", "PNG"),
            ("bmp", "BMP"),
            ("gif", "GIF"),
            ("webp", "WEBP"),
            ("tif", "TIFF"),
            ("tiff", "TIFF"),
        ]
    ):
        write_image(root / "a" / f"img{i}.{ext}", seed=i, size=(20 + i, 10), fmt=fmt)
    write_image(root / "b" / "gray.PNG", mode="L", seed=99)
    project = new_project(root)
    report = project.import_images()
    assert report.new == 9 and not report.problems
    rows = _rows(project)
    assert rows["a/img0.jpg"]["format"] == "JPEG" and rows["a/img0.jpg"]["width"] == 20
    assert rows["a/img4.gif"]["format"] == "GIF"
    assert rows["b/gray.PNG"]["mode"] == "L"
    assert all(len(r["sha256"]) == 64 and r["status"] == "ok" for r in rows.values())


def test_every_bad_file_is_recorded_and_never_stops_the_import(tmp_path: Path, new_project) -> None:
    root = make_tree(tmp_path / "images", {"cat": 3, "dog": 3})
    (root / "cat" / "empty.jpg").write_bytes(b"")
    (root / "cat" / "notes.png").write_text("not an image")
    good = write_image(root / "dog" / "cut.jpg", size=(64, 64), fmt="JPEG", seed=5)
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    write_image(root / "dog" / "huge.png", size=(200, 200), seed=6)
    write_image(root / "loose.png", seed=7)  # no class folder
    (root / "cat" / ".DS_Store").write_bytes(b"\0\0")
    (root / "Thumbs.db").write_bytes(b"\0")
    (root / ".hidden").mkdir()
    write_image(root / ".hidden" / "x.png", seed=8)
    (root / "dog" / "README.txt").write_text("hello")
    outside = write_image(tmp_path / "outside.png", seed=9)
    os.symlink(outside, root / "cat" / "link_out.png")
    os.symlink(root / "cat" / "0000.png", root / "cat" / "link_in.png")
    project = new_project(root)
    report = project.import_images(max_pixels=100 * 100)
    problems = _problems(report)
    assert problems == {
        "cat/empty.jpg": "empty_file",
        "cat/notes.png": "not_an_image",
        "dog/cut.jpg": "truncated",
        "dog/huge.png": "too_large",
        "loose.png": "no_label",
        "cat/link_out.png": "symlink_outside_root",
    }
    rows = _rows(project)
    assert rows["cat/empty.jpg"]["status"] == "broken"
    assert rows["dog/cut.jpg"]["problem"] == "truncated"
    assert rows["cat/link_in.png"]["status"] == "ok"  # a link inside the root is fine
    assert "cat/.DS_Store" not in rows and ".hidden/x.png" not in rows
    assert report.skipped_non_images == 1
    assert sum(r["status"] == "ok" for r in rows.values()) == 7


def test_sources_are_byte_identical_after_import(tmp_path: Path, new_project) -> None:
    root = make_tree(tmp_path / "images", {"a": 4, "b": 4}, ext="jpg")
    write_image(root / "a" / "big.jpg", size=(900, 700), fmt="JPEG")
    before = tree_fingerprint(root)
    project = new_project(root)
    project.import_images()
    project.import_images(rehash=True)
    assert tree_fingerprint(root) == before


def test_exif_orientation_is_applied(tmp_path: Path, new_project) -> None:
    root = tmp_path / "images"
    im = Image.new("RGB", (300, 200), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees: displayed as 200 x 300
    (root / "a").mkdir(parents=True)
    im.save(root / "a" / "rot.jpg", exif=exif.tobytes())
    project = new_project(root)
    project.import_images()
    row = _rows(project)["a/rot.jpg"]
    assert (row["width"], row["height"]) == (200, 300)
    thumb = next(project.thumb_dir.rglob(f"{row['sha256']}.jpg"))
    with Image.open(thumb) as t:
        assert t.size[1] > t.size[0]  # the cached thumbnail is upright too


def test_odd_names_and_unicode_normalisation(tmp_path: Path, new_project) -> None:
    root = tmp_path / "images"
    decomposed = "cafe\u0301"  # NFD "café"
    write_image(root / decomposed / "a photo (1).png", seed=1)
    write_image(root / "ünï cødé" / "日本 語.png", seed=2)
    project = new_project(root)
    report = project.import_images()
    assert not report.problems
    assert set(_rows(project)) == {"caf\u00e9/a photo (1).png", "ünï cødé/日本 語.png"}
    assert project.class_names() == sorted(["caf\u00e9", "ünï cødé"])


def test_bad_filename_bytes(tmp_path: Path, new_project) -> None:
    root = make_tree(tmp_path / "images", {"a": 2})
    bad = os.fsencode(root / "a") + b"/bad\xff.png"
    shutil.copy(root / "a" / "0000.png", bad)
    report = new_project(root).import_images()
    assert [p.reason for p in report.problems] == ["bad_filename"]


def test_exact_duplicates_are_found(tmp_path: Path, new_project) -> None:
    root = make_tree(tmp_path / "images", {"a": 3, "b": 3})
    shutil.copy(root / "a" / "0000.png", root / "b" / "copy.png")
    shutil.copy(root / "a" / "0000.png", root / "a" / "copy2.png")
    report = new_project(root).import_images()
    assert (report.duplicate_groups, report.duplicate_images) == (1, 3)


def test_manifest_import_with_every_bad_row(tmp_path: Path, new_project) -> None:
    root = make_tree(tmp_path / "images", {"x": 5})
    manifest = tmp_path / "labels.csv"
    manifest.write_text(
        "path,label,split\n"
        "x/0000.png,cat,train\n"
        "x/0001.png,dog,val\n"
        "x/0001.png,dog,val\n"
        "../escape.png,cat,train\n"
        "/etc/passwd,cat,train\n"
        "x/nothere.png,cat,train\n"
        "x/0002.png,,train\n"
        "x/0003.png,zebra,test\n"
        "x\\0004.png,dog,test\n",
        encoding="utf-8",
    )
    project = new_project(root)
    discovery = project.discover(manifest=manifest, classes_allowed={"cat", "dog"})
    report = project.import_images(discovery=discovery, manifest=manifest)
    assert sorted((p.path, p.reason) for p in report.problems) == sorted(
        [
            ("x/0001.png", "duplicate_path"),
            ("../escape.png", "path_escapes_root"),
            ("/etc/passwd", "path_escapes_root"),
            ("x/nothere.png", "missing_file"),
            ("x/0002.png", "empty_label"),
            ("x/0003.png", "unknown_label"),
        ]
    )
    rows = _rows(project)
    assert rows["x/0000.png"]["split"] == "train" and rows["x/0001.png"]["split"] == "val"
    assert rows["x/0004.png"]["status"] == "ok"
    assert rows["x/0002.png"]["status"] == "broken" and rows["x/0002.png"]["class_id"] is None
    assert project.class_names() == ["cat", "dog"]


def test_manifest_without_columns_is_refused(tmp_path: Path, new_project) -> None:
    root = make_tree(tmp_path / "images", {"x": 1})
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,class\nx/0000.png,cat\n")
    with pytest.raises(InputError, match="path,label"):
        new_project(root).discover(manifest=manifest)


def test_manifest_split_values_are_checked_and_normalised(tmp_path: Path, new_project) -> None:
    root = make_tree(tmp_path / "images", {"x": 4})
    good = tmp_path / "good.csv"
    good.write_text(
        "path,label,split\nx/0000.png,cat,TRAIN\nx/0001.png,cat,Valid\n"
        "x/0002.png,dog,dev\nx/0003.png,dog,\n"
    )
    project = new_project(root)
    project.import_images(manifest=good, workers=1)
    splits = {path: row["split"] for path, row in _rows(project).items()}
    assert splits == {
        "x/0000.png": "train",
        "x/0001.png": "val",
        "x/0002.png": "val",
        "x/0003.png": None,
    }
    bad = tmp_path / "bad.csv"
    bad.write_text(
        'path,label,split\nx/0000.png,cat,train\n"x/0001.png",cat,bogus\nx/0002.png,dog,tset\n'
    )
    with pytest.raises(InputError, match=r"line 3: unknown split 'bogus' \(and 1 more rows\)"):
        project.import_images(manifest=bad, workers=1)
    assert {path: row["split"] for path, row in _rows(project).items()} == splits


def test_project_inside_image_root_is_refused(tiny_tree: Path) -> None:
    with pytest.raises(ProjectError, match="inside the image root"):
        Project.create(tiny_tree / "proj", tiny_tree)
    assert not (tiny_tree / "proj").exists()


def test_init_refuses_an_existing_project(tmp_path: Path, tiny_tree: Path) -> None:
    Project.create(tmp_path / "p", tiny_tree).close()
    with pytest.raises(ProjectError, match="already a labelaudit project"):
        Project.create(tmp_path / "p", tiny_tree)


def test_open_refuses_missing_and_foreign_folders(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="no project"):
        Project.open(tmp_path / "nothing")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "x.txt").write_text("x")
    with pytest.raises(ProjectError, match="not a labelaudit project"):
        Project.open(tmp_path / "foreign")


def test_parallel_and_serial_inspection_agree(tmp_path: Path, new_project) -> None:
    root = make_tree(tmp_path / "images", {"a": 160, "b": 140}, ext="jpg")
    (root / "a" / "empty.jpg").write_bytes(b"")
    serial = new_project(root)
    serial.import_images(workers=1)
    parallel = new_project(root)
    parallel.import_images(workers=2)

    def strip(rows: dict) -> dict:
        skip = ("id", "created_at", "updated_at")
        return {p: {k: v for k, v in r.items() if k not in skip} for p, r in rows.items()}

    assert strip(_rows(serial)) == strip(_rows(parallel))
    assert len(_rows(parallel)) == 301


def _vote(project: Project, path: str) -> str:
    vote_id = str(uuid.uuid4())

    def cast(conn: sa.Connection) -> None:
        ann = conn.execute(sa.select(annotators.c.id).where(annotators.c.name == "ann")).scalar()
        if ann is None:
            ann = conn.execute(
                sa.insert(annotators).values(name="ann", role="annotator", created_at=0)
            ).inserted_primary_key[0]
        image_id = conn.execute(sa.select(images.c.id).where(images.c.path == path)).scalar_one()
        conn.execute(
            sa.insert(votes).values(
                id=vote_id, annotator_id=ann, image_id=image_id, kind="drop", created_at=time.time()
            )
        )

    project.store.write(cast)
    return vote_id


def _votes_of(project: Project) -> list[dict]:
    with project.store.read() as conn:
        rows = (
            conn.execute(sa.select(votes.c.id, votes.c.stale, images.c.path).join(images))
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


def test_reimport_moves_changes_removals_and_keeps_every_vote(tmp_path: Path, new_project) -> None:
    root = make_tree(tmp_path / "images", {"cat": 3, "dog": 3})
    project = new_project(root)
    project.import_images()
    ids_before = {p: r["id"] for p, r in _rows(project).items()}
    v_move = _vote(project, "cat/0000.png")
    v_change = _vote(project, "cat/0001.png")
    v_gone = _vote(project, "dog/0000.png")

    (root / "cat" / "0000.png").rename(root / "dog" / "moved.png")  # moved (and relabelled)
    write_image(root / "cat" / "0001.png", seed=12345)  # bytes changed
    (root / "dog" / "0000.png").unlink()  # removed
    write_image(root / "owl" / "new.png", seed=777)  # new file, new class
    report = project.import_images()
    assert (report.new, report.moved, report.changed, report.missing) == (1, 1, 1, 1)

    rows = _rows(project)
    assert rows["dog/moved.png"]["id"] == ids_before["cat/0000.png"]
    assert rows["dog/0000.png"]["status"] == "missing"
    assert "cat/0000.png" not in rows
    assert project.class_names() == ["cat", "dog", "owl"]
    by_id = {v["id"]: v for v in _votes_of(project)}
    assert by_id[v_move]["path"] == "dog/moved.png" and not by_id[v_move]["stale"]
    assert by_id[v_change]["stale"] and not by_id[v_gone]["stale"]
    assert by_id[v_gone]["path"] == "dog/0000.png"
    with project.store.read() as conn:
        reasons = conn.execute(sa.select(review_requests.c.reason)).scalars().all()
    assert reasons == ["changed"]

    shutil.copy(root / "dog" / "0001.png", root / "dog" / "0000.png")  # back (as a copy)
    report = project.import_images()
    assert _rows(project)["dog/0000.png"]["status"] == "ok"
    assert len(_votes_of(project)) == 3


def test_reimport_of_unchanged_tree_reads_nothing(tmp_path: Path, new_project, monkeypatch) -> None:
    root = make_tree(tmp_path / "images", {"a": 3})
    project = new_project(root)
    project.import_images()
    calls: list[str] = []
    real = workers.inspect_file
    monkeypatch.setattr(workers, "inspect_file", lambda p, o: calls.append(p) or real(p, o))
    report = project.import_images()
    assert report.unchanged == 3 and calls == []


def test_staged_rows_are_invisible_until_published(
    tmp_path: Path, new_project, monkeypatch
) -> None:
    root = make_tree(tmp_path / "images", {"a": 30, "b": 30})
    project = new_project(root)
    monkeypatch.setattr(importer, "STAGE_ROWS", 10)
    seen: list[int] = []
    real_stage = importer._stage

    def stage_and_peek(store, rows):
        real_stage(store, rows)
        with store.read() as conn:
            seen.append(conn.execute(sa.select(sa.func.count()).select_from(images)).scalar())

    monkeypatch.setattr(importer, "_stage", stage_and_peek)
    project.import_images(workers=1)
    assert seen and set(seen) == {0}
    assert len(_rows(project)) == 60


def test_interrupted_import_leaves_the_project_unchanged(
    tmp_path: Path, new_project, monkeypatch
) -> None:
    root = make_tree(tmp_path / "images", {"a": 20})
    project = new_project(root)
    real = workers.inspect_file
    count = {"n": 0}

    def dying(path, options):
        count["n"] += 1
        if count["n"] == 15:
            raise KeyboardInterrupt
        return real(path, options)

    monkeypatch.setattr(workers, "inspect_file", dying)
    monkeypatch.setattr(importer, "STAGE_ROWS", 5)
    with pytest.raises(KeyboardInterrupt):
        project.import_images(workers=1)
    assert _rows(project) == {}
    unfinished = project_info(project.store)["unfinished_imports"]
    assert [u["status"] for u in unfinished] == ["interrupted"]  # not "running" forever
    monkeypatch.setattr(workers, "inspect_file", real)
    assert project.import_images().new == 20

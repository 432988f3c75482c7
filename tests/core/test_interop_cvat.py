"""CVAT in (CVAT for images 1.1 XML with tag annotations, Datumaro JSON) and review tasks out.

The fixtures follow CVAT's documented XML format (a job export: ``meta/job`` with segments,
owner, assignee and labels; ``<image>`` elements with ``<tag label source>``) and Datumaro's
JSON (``categories.label.labels`` and ``items`` with ``label`` annotations)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from interop_helpers import (
    CLASSES,
    counts,
    fixture,
    image_tree,
    load,
    project_from,
    stored_votes,
    write_json,
)
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.errors import InputError
from labelaudit.core.interop import cvat, store_io
from labelaudit.core.interop.review_export import export_review, split_formats
from review_helpers import store_scan

XML = "cvat_job_annotations.xml"
DATUMARO = "datumaro_default.json"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return image_tree(tmp_path / "images")


def _xml(path: Path, root: Path, allowed: set[str] | None = None) -> store_io.ForeignExport:
    return cvat.read_xml(path, image_root=root, path_map=[], allowed=allowed)


def test_cvat_xml_tags_are_the_assignees_votes(root: Path, tmp_path: Path) -> None:
    export = _xml(fixture(XML, tmp_path), root)
    assert export.classes == sorted(CLASSES)
    assert {i.path: i.label for i in export.images} == {
        "cat/001.png": "cat",
        "dog/001.png": "dog",
        "oiseaux/bébé ü.png": "chouette-été",
        "cat/002.png": None,  # its only tag is an untouched pre-annotation
    }
    assert sorted((v.annotator, v.path, v.label) for v in export.votes) == [
        ("ann@example.org", "cat/001.png", "cat"),
        ("ann@example.org", "dog/001.png", "dog"),
        ("ann@example.org", "oiseaux/bébé ü.png", "chouette-été"),
    ]
    assert any("source auto" in n for n in export.notes)
    assert [v.vote_id for v in _xml(fixture(XML, tmp_path), root).votes] == [
        v.vote_id for v in export.votes
    ]


TASK_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>7</id>
      <name>pets</name>
      <size>3</size>
      <mode>annotation</mode>
      <labels>
        <label><name>cat</name><type>tag</type></label>
        <label><name>dog</name><type>tag</type></label>
        <label><name>chouette-été</name><type>tag</type></label>
      </labels>
      <segments>
        <segment><id>1</id><start>0</start><stop>1</stop><url>u1</url>
          <assignee><username>bob</username></assignee></segment>
        <segment><id>2</id><start>2</start><stop>2</stop><url>u2</url></segment>
      </segments>
      <owner><username>lena</username><email>lena@example.org</email></owner>
    </task>
  </meta>
  <image id="0" name="cat/001.png" width="24" height="24"><tag label="cat" source="manual"/></image>
  <image id="1" name="001.png" width="24" height="24"><tag label="dog" source="manual"/></image>
  <image id="2" name="bébé ü.png" width="24" height="24"><tag label="chouette-été"/></image>
</annotations>
"""


def test_segment_assignees_bare_names_and_the_fallback(root: Path, tmp_path: Path) -> None:
    path = tmp_path / "task.xml"
    path.write_text(TASK_XML, encoding="utf-8")
    with pytest.raises(InputError, match=r"image 1 \(001.png\): 2 images called '001.png'"):
        _xml(path, root)
    path.write_text(TASK_XML.replace('name="001.png"', 'name="dog/001.png"'), encoding="utf-8")
    who = {v.path: v.annotator for v in _xml(path, root).votes}
    # the owner made the task, nobody assigned labelled segment 2: the fallback name
    assert who == {"cat/001.png": "bob", "dog/001.png": "bob", "oiseaux/bébé ü.png": "cvat"}


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<annotations><image id="0" name="&lol2;"/></annotations>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<annotations><image id="0" name="&x;"/></annotations>
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BILLION_LAUGHS, "DTD or entity declarations are refused"),
        (EXTERNAL, "DTD or entity declarations are refused"),
        ("<annotations><image id='0' name='cat/001.png'>", "not valid XML"),
        ("<dataset/>", "not a CVAT for images XML"),
    ],
)
def test_malformed_or_hostile_xml_is_refused(
    text: str, message: str, root: Path, tmp_path: Path
) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        _xml(path, root)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('name="dog/001.png"', 'name="dog/404.png"', "image 1 (dog/404.png): unknown image"),
        (
            '<tag label="dog" source="manual">',
            '<tag label="wolf" source="manual">',
            "image 1 (dog/001.png): unknown class 'wolf'",
        ),
        (
            'name="cat/002.png"',
            'name="cat/001.png"',
            "image 3 (cat/001.png): image 'cat/001.png' is also",
        ),
    ],
)
def test_a_bad_image_record_is_named(
    old: str, new: str, message: str, root: Path, tmp_path: Path
) -> None:
    path = fixture(XML, tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _xml(path, root)


def test_review_formats_stand_alone() -> None:
    assert split_formats("imagefolder,csv") is None
    assert split_formats("cvat-review, labelstudio-review") == ("cvat-review", "labelstudio-review")
    with pytest.raises(InputError, match="write review tasks only"):
        split_formats("csv,labelstudio-review")


def _datumaro(path: Path, root: Path) -> store_io.ForeignExport:
    return cvat.read_datumaro(path, image_root=root, path_map=[], allowed=None)


def test_datumaro_label_annotations(root: Path, tmp_path: Path) -> None:
    export = _datumaro(fixture(DATUMARO, tmp_path), root)
    assert {i.path: i.label for i in export.images} == {
        "cat/001.png": "cat",
        "dog/001.png": "dog",
        "oiseaux/bébé ü.png": "chouette-été",
        "cat/002.png": None,
    }
    assert sorted(v.annotator for v in export.votes) == ["cvat"] * 3  # Datumaro names nobody
    broken = load(DATUMARO)
    broken["items"][1]["annotations"][0]["label_id"] = 7
    with pytest.raises(InputError, match="item dog/001: label_id 7 is not a declared label"):
        _datumaro(write_json(tmp_path / "b.json", broken), root)
    bad = tmp_path / "cut.json"
    bad.write_text(fixture(DATUMARO, tmp_path).read_text(encoding="utf-8")[:100], encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        _datumaro(bad, root)


def _as_reviewed(xml: str, answers: dict[str, str]) -> str:
    """What CVAT exports after a reviewer changed or confirmed tags: they become manual."""
    for path, label in answers.items():
        start = xml.index(f'name="{path}"')
        end = xml.index("</image>", start)
        tag_start = xml.index("<tag", start)
        assert tag_start < end
        tag_end = xml.index("/>", tag_start) + 2
        xml = xml[:tag_start] + f'<tag label="{label}" source="manual"/>' + xml[tag_end:]
    return xml.replace("<task>", "<task><assignee><username>cyd</username></assignee>", 1)


def test_cvat_review_round_trip(root: Path, tmp_path: Path) -> None:
    project = project_from(tmp_path / "proj", root, _xml(fixture(XML, tmp_path), root))
    try:
        cat = load_catalog(project.store)
        store_scan(project, flagged=np.array([p == "dog/001.png" for p in cat.paths or []]))
        result = export_review(
            project.store,
            tmp_path / "review",
            ("cvat-review",),
            image_root=root,
            class_names=project.class_names(),
        )
        xml = (result.out_dir / "cvat/annotations.xml").read_text(encoding="utf-8")
        listed = (result.out_dir / "cvat/images.txt").read_text(encoding="utf-8").splitlines()
        assert "dog/001.png" in listed and "<type>tag</type>" in xml
        untouched = store_io.import_votes(
            project.store, _xml(_write(tmp_path / "u.xml", xml), root)
        )
        assert untouched.added == 0  # pre-annotations nobody touched are not votes
        before = counts(project)
        reviewed = _write(tmp_path / "r.xml", _as_reviewed(xml, {"dog/001.png": "cat"}))
        report = store_io.import_votes(project.store, _xml(reviewed, root))
        assert report.added == 1 and report.new_annotators == ["cyd"]
        assert ("cyd", "dog/001.png", "cat") in stored_votes(project)
        assert counts(project)["votes"] == before["votes"] + 1
        assert store_io.import_votes(project.store, _xml(reviewed, root)).added == 0
        kw: dict[str, Any] = {"image_root": root, "class_names": project.class_names()}
        with pytest.raises(InputError, match="exists and is not empty"):
            export_review(project.store, result.out_dir, ("cvat-review",), **kw)
        kw["force"] = True
        export_review(project.store, result.out_dir, ("cvat-review",), **kw)  # replaces its own
        (result.out_dir / "cvat" / "notes.txt").write_text("mine", encoding="utf-8")
        with pytest.raises(InputError, match="holds files a review export did not write"):
            export_review(project.store, result.out_dir, ("cvat-review",), **kw)
        assert (result.out_dir / "cvat" / "notes.txt").read_text(encoding="utf-8") == "mine"
        with pytest.raises(InputError, match="inside the image root"):
            export_review(project.store, root / "review", ("cvat-review",), **kw)
    finally:
        project.close()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path

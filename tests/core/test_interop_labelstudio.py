"""Label Studio JSON export in (images, given labels, every annotator's votes) and review tasks out.

The fixture (tests/fixtures/interop/labelstudio_export.json) follows Label Studio's documented
export: tasks with ``data.image`` (local-files, upload and plain references), annotations with
``completed_by`` (an object with e-mail, or a bare user id), ``was_cancelled``, ``ground_truth``,
an empty (skipped) result, and predictions with and without per-class scores."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import write_image
from interop_helpers import (
    CLASSES,
    IMAGES,
    counts,
    fixture,
    image_tree,
    load,
    project_from,
    stored_votes,
    write_json,
)
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.dataset.source import ImportSource
from labelaudit.core.errors import InputError
from labelaudit.core.interop import labelstudio, store_io
from labelaudit.core.interop.model import PRIOR_PREFIX, parse_path_map
from labelaudit.core.interop.review_export import export_review
from labelaudit.core.project import Project
from review_helpers import store_scan

S3_MAP = [("s3://team-bucket/raw/", "")]
EXPORT = "labelstudio_export.json"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return image_tree(tmp_path / "images")


def _read(path: Path, root: Path, **kw: Any) -> store_io.ForeignExport:
    return labelstudio.read(path, image_root=root, path_map=kw.pop("path_map", S3_MAP), **kw)


def test_every_completed_annotation_is_a_vote(root: Path, tmp_path: Path) -> None:
    export = _read(fixture(EXPORT, tmp_path), root)
    given = {i.path: i.label for i in export.images}
    assert given == {
        "cat/001.png": "dog",  # the ground-truth annotation, not the first one
        "oiseaux/bébé ü.png": "chouette-été",  # an upload, found by its original name
        "dog/001.png": "dog",  # no ground truth: the first completed annotation
        "dog/002.png": "dog",  # s3:// mapped by --path-map; the empty (skipped) result left out
        "cat/002.png": None,  # no annotation at all
    }
    votes = sorted((v.annotator, v.path, v.label) for v in export.votes)
    assert votes == [
        ("ann@example.org", "cat/001.png", "cat"),
        ("ann@example.org", "dog/001.png", "dog"),  # the bare id 1 is ann: the e-mail is used
        ("ann@example.org", "oiseaux/bébé ü.png", "chouette-été"),
        ("labelstudio-user-2", "cat/001.png", "dog"),
        ("labelstudio-user-2", "dog/001.png", "cat"),
        ("labelstudio-user-2", "dog/002.png", "dog"),
        ("labelstudio-user-3", "dog/001.png", "dog"),
    ]
    assert len({v.vote_id for v in export.votes}) == 7
    assert any("2 skipped or cancelled" in n for n in export.notes)
    assert any("1 predictions without a score for every class" in n for n in export.notes)
    assert export.scores == {"dog/001.png": {"cat": 0.2, "dog": 0.7, "chouette-été": 0.1}}
    again = _read(fixture(EXPORT, tmp_path), root)
    assert [v.vote_id for v in again.votes] == [v.vote_id for v in export.votes]


def test_given_label_modes(root: Path, tmp_path: Path) -> None:
    path = fixture(EXPORT, tmp_path)
    first = {i.path: i.label for i in _read(path, root, given="first").images}
    assert first["cat/001.png"] == "cat"
    bob = {i.path: i.label for i in _read(path, root, given="annotator:labelstudio-user-2").images}
    assert bob == {
        "cat/001.png": "dog",
        "oiseaux/bébé ü.png": None,
        "dog/001.png": "cat",
        "dog/002.png": "dog",
        "cat/002.png": None,
    }
    with pytest.raises(InputError, match="--given-label"):
        _read(path, root, given="majority")


def _broken(tmp_path: Path, change: Any) -> Path:
    tasks = load(EXPORT)
    change(tasks)
    return write_json(tmp_path / "broken.json", tasks)


def _set_choices(tasks: list[dict[str, Any]]) -> None:
    tasks[2]["annotations"][0]["result"][0]["value"]["choices"] = ["dog", "cat"]


BROKEN = {
    "unknown image": (
        lambda t: t[0]["data"].update(image="/data/local-files/?d=cat/999.png"),
        "task 101: unknown image 'cat/999.png'",
    ),
    "unknown class": (
        lambda t: t[3]["annotations"][1]["result"][0]["value"].update(choices=["wolf"]),
        "task 104, annotation 1009: unknown class 'wolf'",
    ),
    "two choices": (_set_choices, "task 103, annotation 1005: a choices result must hold"),
    "no data": (lambda t: t[1].pop("data"), "task 102: not a task"),
    "same image twice": (
        lambda t: t[4]["data"].update(image="dog/001.png"),
        "task 105: image 'dog/001.png' is also in task 103",
    ),
    "escaping path": (lambda t: t[2]["data"].update(image="../x.png"), "task 103: path escapes"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_bad_record_is_named(case: str, root: Path, tmp_path: Path) -> None:
    change, message = BROKEN[case]
    with pytest.raises(InputError) as info:
        _read(_broken(tmp_path, change), root, allowed=CLASSES)
    assert message in str(info.value)
    assert "nothing was imported" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_link_out_of_the_image_root_is_refused(root: Path, tmp_path: Path) -> None:
    outside = write_image(tmp_path / "outside" / "x.png", seed=9)
    (root / "cat" / "link.png").symlink_to(outside)
    tasks = load(EXPORT)
    tasks[4]["data"]["image"] = "cat/link.png"
    with pytest.raises(InputError, match=r"task 105: 'cat/link\.png' links to a file outside"):
        _read(write_json(tmp_path / "l.json", tasks), root)


def test_full_urls_of_served_and_uploaded_files(root: Path, tmp_path: Path) -> None:
    tasks = load(EXPORT)
    tasks[4]["data"]["image"] = "http://localhost:8080/data/local-files/?d=cat%2F002.png"
    tasks[1]["data"]["image"] = (
        "https://ls.example.org/data/upload/7/0a1b2c3d-b%C3%A9b%C3%A9%20%C3%BC.png"
    )
    export = _read(write_json(tmp_path / "urls.json", tasks), root)
    assert [i.path for i in export.images] == [
        "cat/001.png",
        "oiseaux/bébé ü.png",
        "dog/001.png",
        "dog/002.png",
        "cat/002.png",
    ]


def test_malformed_json_and_unmapped_urls(root: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(fixture(EXPORT, tmp_path).read_text(encoding="utf-8")[:-40], encoding="utf-8")
    with pytest.raises(InputError, match=r"not valid JSON \(line \d+"):
        _read(bad, root)
    with pytest.raises(
        InputError, match=re.escape("task 104: cannot map 's3://team-bucket/raw/dog/002.png'")
    ):
        _read(fixture(EXPORT, tmp_path), root, path_map=[])
    with pytest.raises(InputError, match="--path-map takes OLD=NEW, got 'nothing'"):
        parse_path_map(["nothing"])
    with pytest.raises(InputError, match="a list of tasks"):
        _read(write_json(tmp_path / "obj.json", {"tasks": []}), root)


def test_into_a_project_twice_adds_nothing(root: Path, tmp_path: Path, backend: str | None) -> None:
    export = _read(fixture(EXPORT, tmp_path), root)
    project = project_from(tmp_path / "proj", root, export, db_url=backend)
    try:
        cat = load_catalog(project.store)
        assert len(cat) == 5 and set(cat.class_names) == CLASSES
        assert len(stored_votes(project)) == 7
        before = counts(project)
        report = store_io.import_votes(project.store, _read(fixture(EXPORT, tmp_path), root))
        assert (report.added, report.already_stored) == (0, 7)
        assert counts(project) == before
        scores = store_io.write_scores(export, project.folder, project.class_names())
        assert scores is not None
        lines = scores.read_text(encoding="utf-8").splitlines()
        assert lines == ["path,cat,chouette-été,dog", "dog/001.png,0.2,0.1,0.7"]
    finally:
        project.close()


def test_a_refused_votes_import_writes_nothing(root: Path, tmp_path: Path) -> None:
    project = project_from(tmp_path / "proj", root, _read(fixture(EXPORT, tmp_path), root))
    try:
        before = counts(project)
        tasks = load(EXPORT)
        tasks[2]["annotations"].append(
            {
                "id": 77,
                "completed_by": 9,
                "result": [{"id": "z", "type": "choices", "value": {"choices": ["cat"]}}],
            }
        )
        tasks[0]["annotations"][0]["result"][0]["value"]["choices"] = ["wolf"]
        with pytest.raises(InputError, match="task 101, annotation 1001: unknown class 'wolf'"):
            _read(write_json(tmp_path / "b.json", tasks), root, allowed=set(project.class_names()))
        assert counts(project) == before
    finally:
        project.close()


def _label_in_tool(tasks: list[dict[str, Any]], answers: dict[str, list[tuple[int, str]]]) -> list:
    """What Label Studio exports after people labelled the imported review tasks: ids given,
    the prior annotations kept (now completed by the importing user, id 9), new ones added."""
    out = []
    for n, task in enumerate(tasks, 1):
        task = json.loads(json.dumps(task))
        task["id"] = 500 + n
        for k, a in enumerate(task["annotations"]):
            a.update(id=9000 + 10 * n + k, completed_by=9, was_cancelled=False)
        for user, label in answers.get(task["data"]["labelaudit"]["path"], []):
            task["annotations"].append(
                {
                    "id": 8000 + 10 * n + user,
                    "completed_by": {"id": user, "email": f"user{user}@example.org"},
                    "result": [
                        {
                            "id": f"r{user}",
                            "from_name": "label",
                            "to_name": "image",
                            "type": "choices",
                            "value": {"choices": [label]},
                        }
                    ],
                    "was_cancelled": False,
                    "ground_truth": False,
                    "created_at": "2024-04-01T12:00:00Z",
                }
            )
        out.append(task)
    return out


def _labelled_project(folder: Path, root: Path, export: store_io.ForeignExport) -> Project:
    """A project whose every image has a given label (a manifest), the export's votes added."""
    manifest = folder.parent / "manifest.csv"
    rows = [f"{p},{'chouette-été' if p.startswith('oiseaux') else p.split('/')[0]}" for p in IMAGES]
    manifest.write_text("path,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    project = Project.create(folder, root)
    project.import_images(source=ImportSource(manifest), workers=1)
    store_io.import_votes(project.store, export)
    return project


def test_review_tasks_round_trip_without_duplicates(root: Path, tmp_path: Path) -> None:
    project = _labelled_project(tmp_path / "proj", root, _read(fixture(EXPORT, tmp_path), root))
    try:
        cat = load_catalog(project.store)
        flagged = np.array([p == "cat/002.png" for p in cat.paths or []])
        store_scan(project, flagged=flagged)
        project.set_setting("target_accuracy", "0.6")  # 2 of 3 settles at this target
        result = export_review(
            project.store,
            tmp_path / "review",
            ("labelstudio-review",),
            image_root=root,
            class_names=project.class_names(),
        )
        tasks = json.loads((result.out_dir / "labelstudio/tasks.json").read_text("utf-8"))
        by_path = {t["data"]["labelaudit"]["path"]: t for t in tasks}
        # the flagged image and those voted on but not settled (dog/001.png: agreed, 2 of 3)
        assert set(by_path) == set(IMAGES) - {"dog/001.png"}
        assert by_path["cat/001.png"]["data"]["labelaudit"]["state"] in (
            "needs_votes",
            "needs_lead",
        )
        prior = by_path["cat/001.png"]["annotations"]
        assert len(prior) == 2
        assert all(a["result"][0]["id"].startswith(PRIOR_PREFIX) for a in prior)
        assert by_path["cat/002.png"]["predictions"][0]["model_version"] == "labelaudit-given-label"
        assert '<Choice value="chouette-été"/>' in (
            result.out_dir / "labelstudio/config.xml"
        ).read_text("utf-8")
        before = stored_votes(project)
        labelled = _label_in_tool(
            tasks, {"cat/002.png": [(21, "cat"), (22, "dog")], "dog/002.png": [(21, "dog")]}
        )
        back = write_json(tmp_path / "back.json", labelled)
        report = store_io.import_votes(project.store, _read(back, root))
        assert (report.added, report.already_stored) == (3, 4)  # the 4 prior votes came back
        assert not report.notes  # labelaudit's own pre-annotations are not "ignored predictions"
        added = sorted(set(stored_votes(project)) - set(before))
        assert added == [
            ("user21@example.org", "cat/002.png", "cat"),
            ("user21@example.org", "dog/002.png", "dog"),
            ("user22@example.org", "cat/002.png", "dog"),
        ]
        again = store_io.import_votes(project.store, _read(back, root))
        assert again.added == 0
    finally:
        project.close()

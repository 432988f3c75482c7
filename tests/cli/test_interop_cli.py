"""``init --from``, ``votes import --format`` and ``export --format *-review`` through the
installed CLI: each format in, review tasks out and back, and bad input refused in one line
with nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import assert_one_error_line, run_cli, tree_fingerprint
from interop_helpers import FIXTURES, counts, fixture, image_tree, load, write_json
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.project import Project
from review_helpers import store_scan

LS = "labelstudio_export.json"
S3 = "s3://team-bucket/raw/="


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return image_tree(tmp_path / "images")


def _votes_csv(project: Path) -> list[str]:
    out = run_cli("votes", "export", project, check=True).stdout.splitlines()[1:]
    return sorted(",".join(line.split(",")[:3]) for line in out)


def _counts(project: Path) -> dict[str, int]:
    with Project.open(project) as p:
        return counts(p)


def test_init_from_labelstudio_then_again(root: Path, tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    export = fixture(LS, tmp_path)
    done = run_cli(
        "init",
        proj,
        "--images",
        root,
        "--from",
        f"labelstudio:{export}",
        "--path-map",
        S3,
        check=True,
    )
    assert "7 votes: 7 added, 0 already stored" in done.stdout
    assert "2 skipped or cancelled annotations are not votes" in done.stdout
    # task 103's prediction scores every class (kept), task 101's scores one (ignored)
    assert "sources/labelstudio-pred-probs.csv" in done.stdout
    assert "1 predictions without a score for every class were ignored" in done.stdout
    assert "ann@example.org,oiseaux/bébé ü.png,chouette-été" in _votes_csv(proj)
    before = _counts(proj)
    again = run_cli(
        "votes", "import", proj, "--format", "labelstudio", export, "--path-map", S3, check=True
    )
    assert "7 votes: 0 added, 7 already stored" in again.stdout
    reimport = run_cli("import", proj, check=True)  # the recorded source: the manifest made
    assert (
        "5 unchanged" in reimport.stdout and "sources/labelstudio-manifest.csv" in reimport.stdout
    )
    assert _counts(proj) == before


@pytest.mark.parametrize(
    ("spec", "images", "votes"),
    [
        ("cvat:cvat_job_annotations.xml", 4, 3),
        ("datumaro:datumaro_default.json", 4, 3),
    ],
)
def test_init_from_cvat_and_datumaro(
    spec: str, images: int, votes: int, root: Path, tmp_path: Path
) -> None:
    fmt, name = spec.split(":")
    proj = tmp_path / "proj"
    done = run_cli(
        "init",
        proj,
        "--images",
        root,
        "--from",
        f"{fmt}:{fixture(name, tmp_path)}",
        "--json",
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["new"] == images and report["votes"]["added"] == votes
    assert report["problems"] == {"empty_label": 1}  # cat/002.png: no tag, no label
    with Project.open(proj) as p:
        assert sorted(load_catalog(p.store).class_names) == ["cat", "chouette-été", "dog"]


def test_init_from_fiftyone(tmp_path: Path) -> None:
    folder = tmp_path / "fo"
    image_tree(folder / "data")
    for rel in ("cat/001.png", "cat/002.png", "dog/001.png", "oiseaux/bébé ü.png"):
        stem = {
            "cat/001.png": "5f1a0001",
            "cat/002.png": "5f1a0002",
            "dog/001.png": "5f1a0003",
            "oiseaux/bébé ü.png": "5f1a0004",
        }[rel]
        shutil.move(folder / "data" / rel, folder / "data" / f"{stem}.png")
    shutil.rmtree(folder / "data" / "cat")
    shutil.rmtree(folder / "data" / "dog")
    shutil.rmtree(folder / "data" / "oiseaux")
    shutil.copyfile(FIXTURES / "fiftyone_labels.json", folder / "labels.json")
    done = run_cli(
        "init",
        tmp_path / "proj",
        "--images",
        folder / "data",
        "--from",
        f"fiftyone:{folder}",
        check=True,
    )
    assert "imported 4 files: 4 new" in done.stdout


def _ls_broken(tmp_path: Path, change: Any) -> Path:
    tasks = load(LS)
    change(tasks)
    return write_json(tmp_path / "broken.json", tasks)


INIT_ERRORS = {
    "malformed json": (lambda t, p: _cut(p), "not valid JSON"),
    "unknown image": (
        lambda t, p: _ls_broken(t, lambda d: d[2]["data"].update(image="dog/nope.png")),
        "task 103: unknown image 'dog/nope.png'",
    ),
    "unknown class": (
        lambda t, p: _ls_broken(
            t, lambda d: d[2]["annotations"][1]["result"][0]["value"].update(choices=["wolf"])
        ),
        "task 103, annotation 1006: unknown class 'wolf'",
    ),
    "missing file": (lambda t, p: t / "absent.json", "no such file"),
}


def _cut(path: Path) -> Path:
    path.write_text(path.read_text(encoding="utf-8")[:300], encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(INIT_ERRORS))
def test_bad_export_creates_nothing(case: str, root: Path, tmp_path: Path) -> None:
    make, message = INIT_ERRORS[case]
    bad = make(tmp_path, fixture(LS, tmp_path))
    sources = tree_fingerprint(root)
    proc = run_cli(
        "init",
        tmp_path / "proj",
        "--images",
        root,
        "--from",
        f"labelstudio:{bad}",
        "--path-map",
        S3,
        "--classes",
        "cat,dog,chouette-été",
    )
    assert_one_error_line(proc, contains=message)
    assert proc.returncode == 2
    assert not (tmp_path / "proj").exists()
    assert tree_fingerprint(root) == sources


def test_bad_options_are_one_line(root: Path, tmp_path: Path) -> None:
    ls = fixture(LS, tmp_path)
    for args, message in [
        (("--from", f"coco:{ls}"), "--from takes FORMAT:PATH"),
        (("--from", f"labelstudio:{ls}", "--manifest", ls), "either --manifest FILE or --from"),
        (("--from", f"cvat:{tmp_path}"), "is a folder"),
    ]:
        proc = run_cli("init", tmp_path / "proj", "--images", root, *args)
        assert_one_error_line(proc, contains=message)
        assert not (tmp_path / "proj").exists()


@pytest.fixture
def ls_project(root: Path, tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    run_cli(
        "init",
        proj,
        "--images",
        root,
        "--from",
        f"labelstudio:{fixture(LS, tmp_path)}",
        "--path-map",
        S3,
        check=True,
    )
    return proj


def test_refused_votes_import_leaves_the_database(ls_project: Path, tmp_path: Path) -> None:
    before = _counts(ls_project)
    xml = fixture("cvat_job_annotations.xml", tmp_path)
    xml.write_text(
        xml.read_text(encoding="utf-8").replace(
            'label="dog" source="manual"', 'label="wolf" source="manual"'
        ),
        encoding="utf-8",
    )
    for fmt, path, message in [
        ("cvat", xml, "image 1 (dog/001.png): unknown class 'wolf'"),
        ("labelstudio", _cut(fixture(LS, tmp_path)), "not valid JSON"),
        ("datumaro", tmp_path / "none.json", "no such file"),
    ]:
        proc = run_cli("votes", "import", ls_project, "--format", fmt, path)
        assert_one_error_line(proc, contains=message)
        assert proc.returncode == 2
    assert _counts(ls_project) == before


def _answer(
    tasks: list[dict[str, Any]], answers: dict[str, list[tuple[int, str]]]
) -> list[dict[str, Any]]:
    """The review tasks as Label Studio exports them once two people labelled them."""
    for n, task in enumerate(tasks, 1):
        task["id"] = 900 + n
        for a in task["annotations"]:
            a.update(id=9000 + n, completed_by=1)
        for user, label in answers.get(task["data"]["labelaudit"]["path"], []):
            task["annotations"].append(
                {
                    "id": 8000 + 10 * n + user,
                    "completed_by": {"id": user, "email": f"reviewer{user}@example.org"},
                    "result": [
                        {
                            "id": f"n{user}",
                            "type": "choices",
                            "from_name": "label",
                            "to_name": "image",
                            "value": {"choices": [label]},
                        }
                    ],
                    "was_cancelled": False,
                    "ground_truth": False,
                    "created_at": "2024-05-01T09:00:00Z",
                }
            )
    return tasks


def test_review_export_and_round_trip(ls_project: Path, tmp_path: Path) -> None:
    with Project.open(ls_project) as p:
        cat = load_catalog(p.store)
        store_scan(p, flagged=np.array([path == "dog/002.png" for path in cat.paths or []]))
    out = tmp_path / "review"
    proc = run_cli(
        "export", ls_project, "--out", out, "--format", "labelstudio-review,cvat-review", check=True
    )
    assert "review tasks" in proc.stdout
    assert (out / "cvat" / "annotations.xml").is_file() and (out / "review.json").is_file()
    tasks = json.loads((out / "labelstudio" / "tasks.json").read_text(encoding="utf-8"))
    prior = sum(len(t["annotations"]) for t in tasks)
    labelled = write_json(
        tmp_path / "labelled.json",
        _answer(
            tasks,
            {
                "dog/002.png": [(31, "dog"), (32, "cat")],
                "cat/001.png": [(31, "cat")],
            },
        ),
    )
    before = _counts(ls_project)
    back = run_cli("votes", "import", ls_project, "--format", "labelstudio", labelled, check=True)
    assert f"3 added, {prior} already stored" in back.stdout
    assert _counts(ls_project)["votes"] == before["votes"] + 3
    twice = run_cli("votes", "import", ls_project, "--format", "labelstudio", labelled, check=True)
    assert "0 added" in twice.stdout
    votes = _votes_csv(ls_project)
    assert "reviewer32@example.org,dog/002.png,cat" in votes

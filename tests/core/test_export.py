"""Exports from real projects: final labels from review, splits, rebalancing, layout, records."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from export_helpers import (
    by_source,
    export,
    ids_by_path,
    make_project,
    project_fixture,
    read_manifest,
    store_scan,
)
from helpers import write_image
from labelaudit.core.consensus.annotators import LEAD, add_annotator
from labelaudit.core.consensus.resolution import resolve
from labelaudit.core.consensus.votes import cast_vote
from labelaudit.core.project import Project
from labelaudit.core.store.schema import audit_log, exports

COUNTS = {"cat": 12, "dog": 10, "owl": 6}


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield from project_fixture(tmp_path, COUNTS)


def _files(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in ("provenance.json", "CHANGES.md")
    }


def test_reviewed_labels_win_and_policy_covers_the_rest(project: Project, tmp_path: Path) -> None:
    ids = ids_by_path(project)
    store_scan(
        project,
        flagged={
            "cat/0000.png": ("dog", 0.95),  # the lead relabels it to owl
            "cat/0001.png": ("dog", 0.95),  # three votes agree: dog
            "cat/0002.png": ("owl", 0.9),  # nobody reviews: auto-fix takes owl
            "cat/0003.png": ("owl", 0.2),  # nobody reviews, unsure model: left out
            "dog/0000.png": ("cat", 0.9),  # one vote so far: unresolved
            "dog/0001.png": ("cat", 0.9),  # the lead drops it
        },
    )
    add_annotator(project.store, "lena", role=LEAD)
    for who in ("ann", "bob", "cem"):
        add_annotator(project.store, who)
        cast_vote(
            project.store,
            annotator=who,
            image_id=ids["cat/0001.png"],
            decision="dog",
            suggestion_shown=True,
        )
    cast_vote(
        project.store,
        annotator="ann",
        image_id=ids["dog/0000.png"],
        decision="cat",
        suggestion_shown=False,
    )
    resolve(project.store, lead="lena", image_id=ids["cat/0000.png"], decision="owl", note="a tail")
    resolve(project.store, lead="lena", image_id=ids["dog/0001.png"], decision="drop")

    out = tmp_path / "auto"
    result = export(
        project,
        out,
        unreviewed="auto-fix",
        auto_fix_threshold=0.5,
        formats=("imagefolder", "csv", "labelstudio"),
    )
    rows = by_source(read_manifest(out))
    tasks = json.loads((out / "labelstudio" / "tasks.json").read_text())
    score = {t["data"]["source_path"]: t["predictions"][0].get("score") for t in tasks}
    assert score["cat/0000.png"] == 1.0  # the lead's decision is final
    assert score["cat/0002.png"] == pytest.approx(0.9)  # auto-fix: the suggestion's probability
    assert 0.0 < score["cat/0001.png"] <= 1.0  # the consensus quality
    assert rows["cat/0000.png"]["label"] == "owl"
    assert rows["cat/0000.png"]["decision_source"] == "lead"
    assert rows["cat/0001.png"]["label"] == "dog"
    assert rows["cat/0001.png"]["decision_source"] == "consensus"
    assert rows["cat/0002.png"]["label"] == "owl"
    assert rows["cat/0002.png"]["decision_source"] == "auto-fix"
    assert rows["cat/0002.png"]["original_label"] == "cat"
    assert rows["dog/0000.png"]["label"] == "cat"  # unresolved: the policy (auto-fix) decided
    assert "cat/0003.png" not in rows and "dog/0001.png" not in rows
    assert rows["cat/0005.png"]["decision_source"] == "given"
    counts = result.counts
    assert counts["relabelled"] == 4
    assert counts["excluded"] == {"auto_fix_below_threshold": 1, "dropped_by_lead": 1}
    assert counts["unresolved"] == 1
    changes = (out / "CHANGES.md").read_text(encoding="utf-8")
    assert "lead lena (a tail)" in changes
    assert "ann: dog, bob: dog, cem: dog" in changes
    assert "suggests it with p=0.90 >= 0.5" in changes
    assert "dropped by the lead" in changes
    assert "## Unresolved" in changes and "dog/0000.png" in changes

    out2 = tmp_path / "strict"
    export(project, out2)  # default: exclude-flagged
    rows = by_source(read_manifest(out2))
    assert {"cat/0002.png", "cat/0003.png", "dog/0000.png", "dog/0001.png"}.isdisjoint(rows)
    assert rows["cat/0000.png"]["label"] == "owl"

    out3 = tmp_path / "keep"
    export(project, out3, unreviewed="keep")
    rows = by_source(read_manifest(out3))
    assert rows["cat/0002.png"]["label"] == "cat"
    assert rows["cat/0002.png"]["decision_source"] == "unreviewed-keep"
    assert rows["dog/0000.png"]["label"] == "dog"


def test_layout_interop_and_provenance(project: Project, tmp_path: Path) -> None:
    from torchvision.datasets import ImageFolder

    write_image(project.image_root / "owl" / "anim.gif", seed=4242, fmt="GIF")
    project.import_images(workers=1)
    store_scan(project, flagged={"cat/0000.png": ("dog", 0.99)})
    out = tmp_path / "out"
    result = export(project, out, unreviewed="auto-fix", formats=("imagefolder", "csv"))
    classes = json.loads((out / "classes.json").read_text())
    assert classes == {"cat": 0, "dog": 1, "owl": 2}
    manifest = read_manifest(out)
    for split in ("train", "val", "test"):
        assert sorted(p.name for p in (out / split).iterdir()) == ["cat", "dog", "owl"]
        dataset = ImageFolder(str(out / split), allow_empty=True)
        assert dataset.class_to_idx == classes
        assert len(dataset) == sum(1 for r in manifest if r["split"] == split)
        for path, target in dataset.samples:
            assert Path(path).parent.name == next(c for c, i in classes.items() if i == target)
    # The relabelled cat/0000.png meets dog/0000.png in the dog folder: no clash.
    dog_rows = [r for r in manifest if r["label"] == "dog"]
    assert len({r["path"] for r in dog_rows}) == len(dog_rows) == 11
    gif = next(r for r in manifest if r["source_path"] == "owl/anim.gif")
    assert gif["path"].endswith("anim.png")
    with Image.open(out / gif["path"]) as im:
        assert im.format == "PNG"
    prov = json.loads((out / "provenance.json").read_text())
    for rel, digest in prov["sha256"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written - set(prov["sha256"]) == {"provenance.json"}
    assert prov["scan"]["config"] == {"model": "test"}
    assert prov["consensus"]["method"] == "majority"
    assert prov["policy"] == {"unreviewed": "auto-fix", "auto_fix_threshold": 0.7}
    assert prov["counts"]["before"] == {"cat": 12, "dog": 10, "owl": 7}
    assert prov["rebalance"]["retrain_balancing"] == "class_weights"
    assert prov["files"]["gif_converted_to_png"] == 1
    assert (out / "retrain.py").read_text().startswith("#!/usr/bin/env python3")
    with project.store.read() as conn:
        row = conn.execute(sa.select(exports)).mappings().one()
        logged = conn.execute(sa.select(audit_log).where(audit_log.c.action == "export")).all()
    assert row["id"] == result.export_id and row["out_dir"] == str(out)
    assert json.loads(row["params"])["unreviewed"] == "auto-fix"
    assert len(logged) == 1


def test_class_weights_and_sample_weights(project: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(project, out)
    rows = read_manifest(out)
    train = [r for r in rows if r["split"] == "train"]
    weights = json.loads((out / "class_weights.json").read_text())
    n = len(train)
    for name, w in weights.items():
        n_k = sum(1 for r in train if r["label"] == name)
        assert w == pytest.approx(n / (3 * n_k), rel=1e-5)
    for r in train:
        assert float(r["weight"]) == pytest.approx(weights[r["label"]], rel=1e-5)
    assert all(float(r["weight"]) == 1.0 for r in rows if r["split"] != "train")


def test_oversampled_repeats_are_files_imagefolder_sees(project: Project, tmp_path: Path) -> None:
    from torchvision.datasets import ImageFolder

    out = tmp_path / "out"
    result = export(project, out, rebalance="oversample")
    rows = read_manifest(out)
    train = [r for r in rows if r["split"] == "train"]
    per_class = {c: sum(1 for r in train if r["label"] == c) for c in COUNTS}
    assert len(set(per_class.values())) == 1
    repeats = [r for r in train if "__rep" in r["path"]]
    assert repeats and all(Path(r["path"]).stem.rsplit("__rep", 1)[1].isdigit() for r in repeats)
    for r in repeats:
        original = r["path"].split("__rep")[0]
        assert (out / r["path"]).read_bytes() == (out / (original + ".png")).read_bytes()
    assert len(ImageFolder(str(out / "train"))) == len(train)
    weights = json.loads((out / "class_weights.json").read_text())
    assert weights == pytest.approx({c: 1.0 for c in COUNTS})
    assert result.provenance["rebalance"]["retrain_balancing"] == "none"
    assert result.counts["repeats"] == len(repeats)
    # val and test keep their real frequencies: as without rebalancing
    plain = export(project, tmp_path / "plain")
    for split in ("val", "test"):
        assert result.counts["after"][split] == plain.counts["after"][split]

    out2 = tmp_path / "under"
    export(project, out2, rebalance="undersample")
    train2 = [r for r in read_manifest(out2) if r["split"] == "train"]
    assert len({sum(1 for r in train2 if r["label"] == c) for c in COUNTS}) == 1
    assert "undersample" in (out2 / "CHANGES.md").read_text()


def test_same_seed_same_export_and_duplicates_stay_together(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"a": 20, "b": 20})
    for i in range(4):  # exact duplicates of a/0000.png
        shutil.copy(project.image_root / "a" / "0000.png", project.image_root / "a" / f"dup{i}.png")
    project.import_images(workers=1)
    store_scan(project, near_dups=[["b/0001.png", "b/0002.png", "b/0003.png"]])
    first, again, other = tmp_path / "e1", tmp_path / "e2", tmp_path / "e3"
    export(project, first, dedupe="keep-all", seed=7)
    export(project, again, dedupe="keep-all", seed=7)
    export(project, other, dedupe="keep-all", seed=8)
    assert _files(first) == _files(again)
    assert _files(first) != _files(other)
    rows = by_source(read_manifest(first))
    assert (
        len({rows[p]["split"] for p in ["a/0000.png"] + [f"a/dup{i}.png" for i in range(4)]}) == 1
    )
    assert len({rows[f"b/000{i}.png"]["split"] for i in (1, 2, 3)}) == 1
    one = tmp_path / "one"
    result = export(project, one)  # keep-one
    assert result.counts["excluded"] == {"exact_duplicate": 4}
    assert "exact duplicate of a/0000.png" in (one / "CHANGES.md").read_text()
    project.close()


def test_keep_splits_from_an_imported_manifest(tmp_path: Path) -> None:
    root = tmp_path / "images"
    lines = ["path,label,split"]
    for i in range(12):
        write_image(root / f"{i}.png", seed=i)
        lines.append(f"{i}.png,{'ab'[i % 2]},{('train', 'validation', 'test')[i % 3]}")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    project = Project.create(tmp_path / "p", root)
    project.import_images(manifest=tmp_path / "m.csv", workers=1)
    out = tmp_path / "out"
    export(project, out, keep_splits=True)
    rows = by_source(read_manifest(out))
    assert {p: r["split"] for p, r in rows.items()} == {
        f"{i}.png": ("train", "val", "test")[i % 3] for i in range(12)
    }
    project.close()


def test_a_relabelled_file_meeting_a_namesake_gets_a_distinct_name(
    project: Project, tmp_path: Path
) -> None:
    store_scan(project, flagged={"cat/0000.png": ("dog", 0.99)})
    out = tmp_path / "out"
    export(project, out, unreviewed="auto-fix", splits=(1.0, 0.0))  # one split: they meet
    rows = by_source(read_manifest(out))
    ids = ids_by_path(project)
    assert rows["dog/0000.png"]["path"] == "train/dog/0000.png"
    assert rows["cat/0000.png"]["path"] == f"train/dog/0000__id{ids['cat/0000.png']}.png"
    assert (out / rows["cat/0000.png"]["path"]).read_bytes() == (
        project.image_root / "cat" / "0000.png"
    ).read_bytes()


def test_csv_and_labelstudio_without_copies(project: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(project, out, formats=("csv", "labelstudio"))
    assert not (out / "train").exists()
    rows = read_manifest(out)
    assert all(Path(r["path"]).is_absolute() and Path(r["path"]).is_file() for r in rows)
    tasks = json.loads((out / "labelstudio" / "tasks.json").read_text())
    assert len(tasks) == len(rows)
    first = tasks[0]
    assert first["data"]["image"].startswith("/data/local-files/?d=")
    choice = first["predictions"][0]["result"][0]
    assert choice["from_name"] == "label" and choice["to_name"] == "image"
    assert choice["value"]["choices"][0] in COUNTS
    config = (out / "labelstudio" / "config.xml").read_text()
    assert '<Choices name="label" toName="image"' in config
    assert all(f'<Choice value="{c}"/>' in config for c in COUNTS)


@pytest.mark.postgres
def test_export_from_a_postgresql_store(tmp_path: Path, pg_url: str) -> None:
    project = make_project(tmp_path, {"x": 5, "y": 5}, db_url=pg_url)
    store_scan(project, flagged={"x/0000.png": ("y", 0.9)})
    out = tmp_path / "out"
    result = export(project, out, unreviewed="auto-fix")
    assert by_source(read_manifest(out))["x/0000.png"]["label"] == "y"
    with project.store.read() as conn:
        assert conn.execute(sa.select(exports.c.id)).scalar() == result.export_id
    project.close()

"""``labelaudit export`` through the installed entry point."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from export_helpers import read_manifest
from helpers import assert_one_error_line, make_tree, run_cli, tree_fingerprint


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("cli_export")
    make_tree(base / "images", {"cat": 8, "dog": 6, "owl": 5})
    run_cli("init", base / "project", "--images", base / "images", check=True)
    return base / "project"


def test_help_states_the_defaults() -> None:
    text = " ".join(run_cli("export", "--help", check=True).stdout.split())
    assert "--auto-fix-threshold" in text and "(default 0.7)" in text
    assert "exclude-flagged" in text and "0.8,0.1,0.1" in text
    assert "export" in run_cli("--help", check=True).stdout
    assert "retrain" in run_cli("--help", check=True).stdout


def test_export_prints_counts_and_writes_the_layout(project: Path, tmp_path: Path) -> None:
    images = project.parent / "images"
    before = tree_fingerprint(images)
    out = tmp_path / "out"
    proc = run_cli(
        "export",
        project,
        "--out",
        out,
        "--json",
        "--format",
        "imagefolder,csv,labelstudio",
        "--rebalance",
        "oversample",
        "--seed",
        "5",
        check=True,
    )
    counts = json.loads(proc.stdout)
    assert counts["images_exported"] == 19
    assert counts["rows_written"] == len(read_manifest(out))
    assert set(counts["after"]) == {"train", "val", "test"}
    for name in (
        "classes.json",
        "class_weights.json",
        "provenance.json",
        "CHANGES.md",
        "retrain.py",
        "manifest.csv",
        "labelstudio/tasks.json",
    ):
        assert (out / name).is_file(), name
    assert tree_fingerprint(images) == before
    proc = run_cli("export", project, "--out", tmp_path / "text", "--splits", "0.9,0.1")
    assert proc.returncode == 0, proc.stderr
    assert "exported 19 images" in proc.stdout and "retrain:" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "text").iterdir() if p.is_dir()) == ["train", "val"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--splits", "0.5,0.2"], "sum to 1"),
        (["--splits", "x"], "--splits"),
        (["--format", "coco"], "--format"),
        (["--auto-fix-threshold", "2"], "between 0 and 1"),
        (["--keep-splits"], "no split value"),
        (["--seed", "-1"], "--seed must be >= 0; got -1"),
    ],
)
def test_bad_options_are_one_error_line(
    project: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    assert_one_error_line(run_cli("export", project, "--out", out, *args), contains=message)
    assert not out.exists()


def test_refusals_are_one_error_line(project: Path, tmp_path: Path) -> None:
    images = project.parent / "images"
    proc = run_cli("export", project, "--out", images / "cleaned", "--force")
    assert_one_error_line(proc, contains="overlaps the image root")
    proc = run_cli("export", project, "--out", project / "x")
    assert_one_error_line(proc, contains="overlaps the project folder")
    out = tmp_path / "out"
    run_cli("export", project, "--out", out, check=True)
    assert_one_error_line(run_cli("export", project, "--out", out), contains="--force")
    assert run_cli("export", project, "--out", out, "--force").returncode == 0
    assert_one_error_line(run_cli("export", tmp_path / "nope", "--out", out), contains="project")


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """``folder`` made unwritable: chmod, or for root (whom chmod does not stop) chattr +i."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)]).returncode != 0:
        pytest.skip("cannot make a folder read-only for root here (no chattr +i)")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def test_an_unwritable_parent_is_named_not_the_temporary_folder(
    project: Path, tmp_path: Path
) -> None:
    ro = tmp_path / "ro"
    with _read_only(ro):
        for out in (ro / "exp", ro / "deeper" / "exp"):
            proc = run_cli("export", project, "--out", out)
            assert_one_error_line(proc, contains=f"cannot write {out}: {ro} is not writable")
            assert ".labelaudit-tmp" not in proc.stderr
        assert list(ro.iterdir()) == []


def test_a_tiny_export_warns_about_empty_splits_and_the_policy(tmp_path: Path) -> None:
    make_tree(tmp_path / "images", {"a": 1, "b": 1})
    run_cli("init", tmp_path / "p", "--images", tmp_path / "images", check=True)
    proc = run_cli("export", tmp_path / "p", "--out", tmp_path / "out", check=True)
    assert "warning: the val split is empty" in proc.stdout
    assert "warning: the test split is empty" in proc.stdout
    assert (
        "warning: no finished scan: no image is flagged, so nothing is left out for review"
        in proc.stdout
    )
    assert "auto-fixed" not in proc.stdout
    notes = (tmp_path / "out" / "CHANGES.md").read_text(encoding="utf-8")
    assert "the val split is empty" in notes
    proc = run_cli(
        "export", tmp_path / "p", "--out", tmp_path / "fix", "--unreviewed", "auto-fix", check=True
    )
    assert "nothing is auto-fixed" in proc.stdout
    proc = run_cli(
        "export", tmp_path / "p", "--out", tmp_path / "keep", "--unreviewed", "keep", check=True
    )
    assert "no finished scan" not in proc.stdout


def test_demo_export_stage_fixes_labels_and_grades_them_against_the_answer_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from export_helpers import make_project, store_scan
    from labelaudit.cli import demo_stages

    demo = tmp_path / "demo"
    with make_project(demo, {"cat": 6, "dog": 6}) as project:
        # cat/0000 is really a dog and the scan says so; dog/0001 is right, though flagged.
        store_scan(project, flagged={"cat/0000.png": ("dog", 0.95), "dog/0001.png": ("cat", 0.4)})
        rows = [("cat/0000.png", "dog", "cat"), ("dog/0001.png", "dog", "dog")]
        rows += [(f"{c}/{i:04d}.png", c, c) for c in ("cat", "dog") for i in range(2, 6)]
        lines = ["path,true_label,given_label", *(",".join(r) for r in rows)]
        (demo / "truth.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for _ in range(2):  # a second demo run replaces its own export
            demo_stages.export_stage(project, demo_dir=demo)
    out = capsys.readouterr().out
    by_path = {r["source_path"]: r["label"] for r in read_manifest(demo / "export")}
    assert by_path["cat/0000.png"] == "dog"  # auto-fixed (p 0.95 >= 0.7)
    assert "dog/0001.png" not in by_path  # flagged, unsure suggestion: left out
    assert "answer key: 9 of 9 exported labels are right (100.0%)" in out
    assert "the given labels had 1 of 10 wrong (10.0%)" in out

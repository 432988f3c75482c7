"""Export safety: no half-written DIR, --force keeps the old export, overlaps refused, sources
untouched, unsafe class names made safe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from export_helpers import export, make_project, project_fixture, read_manifest
from helpers import cli_executable, tree_fingerprint, write_image
from labelaudit.core.errors import Cancelled, InputError
from labelaudit.core.export.runs import safe_host as _safe_host
from labelaudit.core.export.target import OLD_TAG, TMP_TAG
from labelaudit.core.progress import Progress
from labelaudit.core.project import Project

COUNTS = {"cat": 8, "dog": 6, "owl": 6}


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield from project_fixture(tmp_path, COUNTS)


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_overlapping_folders_are_refused_even_with_force(project: Project, tmp_path: Path) -> None:
    for bad in (
        project.image_root / "export",
        project.image_root,
        project.folder / "export",
        tmp_path,  # contains both
    ):
        with pytest.raises(InputError, match="overlaps"):
            export(project, bad, force=True)


def test_existing_folders(project: Project, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    export(project, empty)  # an empty folder is fine
    with pytest.raises(InputError, match="--force"):
        export(project, empty)
    first = json.loads((empty / "provenance.json").read_text())["created_at"]
    time.sleep(1.1)
    export(project, empty, force=True, seed=3)
    assert json.loads((empty / "provenance.json").read_text())["options"]["seed"] == 3
    assert first != json.loads((empty / "provenance.json").read_text())["created_at"]
    assert _leftovers(empty) == []
    mine = tmp_path / "mine"
    (mine / "notes").mkdir(parents=True)
    with pytest.raises(InputError, match="not a labelaudit export"):
        export(project, mine, force=True)
    assert (mine / "notes").is_dir()
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        export(project, afile, force=True)


@pytest.mark.parametrize("mode", ["copy", "hardlink", "symlink"])
def test_sources_are_never_touched(project: Project, tmp_path: Path, mode: str) -> None:
    write_image(project.image_root / "owl" / "moving.gif", seed=77, fmt="GIF")
    project.import_images(workers=1)
    before = tree_fingerprint(project.image_root)
    out = tmp_path / "out"
    result = export(project, out, mode=mode, rebalance="oversample")
    assert tree_fingerprint(project.image_root) == before
    rows = read_manifest(out)
    files = [out / r["path"] for r in rows]
    assert all(f.exists() for f in files)
    prov = result.provenance["files"]
    if mode == "symlink":
        linked = [f for f in files if not f.name.startswith("moving")]
        assert all(f.is_symlink() and not os.path.isabs(os.readlink(f)) for f in linked)
        assert not any(f.is_symlink() for f in files if f.name.startswith("moving"))  # GIF->PNG
        assert prov["portable"] is False and prov["symlinks"]
    if mode == "hardlink":
        source = project.image_root / "cat" / "0000.png"
        exported = next(out / r["path"] for r in rows if r["source_path"] == "cat/0000.png")
        assert os.path.samefile(source, exported)
        assert any("hardlink" in w for w in result.warnings)
    # Writing over the export never reaches a source in copy mode.
    if mode == "copy":
        for f in files[:3]:
            f.write_bytes(b"changed")
        assert tree_fingerprint(project.image_root) == before


def test_unsafe_class_names_become_safe_folders(tmp_path: Path) -> None:
    root = tmp_path / "images"
    labels = ["a/b", "..", "CON", "Cat", "cat", "bell\x07"]
    lines = ["path,label"]
    for i in range(len(labels) * 3):
        write_image(root / f"{i}.png", seed=i)
        lines.append(f'{i}.png,"{labels[i % len(labels)]}"')
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    project = Project.create(tmp_path / "p", root)
    project.import_images(manifest=tmp_path / "m.csv", workers=1)
    out = tmp_path / "out"
    result = export(project, out, splits=(0.34, 0.33, 0.33))
    folders = sorted(p.name for p in (out / "train").iterdir())
    assert folders == sorted(["a_b", "_", "_CON", "Cat", "cat_2", "bell_"])
    assert set(json.loads((out / "classes.json").read_text())) == set(folders)
    by_name = {c["name"]: c["folder"] for c in result.provenance["classes"]}
    assert by_name["cat"] == "cat_2" and by_name["a/b"] == "a_b"
    assert "## Class folders renamed" in (out / "CHANGES.md").read_text()
    assert any("safe folder names" in w for w in result.warnings)
    project.close()


class CancelAfter(Progress):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def advance(self, n: int = 1, **info: object) -> None:
        self.n -= n
        if self.n <= 0:
            self.cancel.cancel()
        super().advance(n, **info)


def test_cancelled_export_leaves_nothing(project: Project, tmp_path: Path) -> None:
    from labelaudit.core.export.options import ExportOptions
    from labelaudit.core.usecases.export import export_dataset

    out = tmp_path / "out"
    with pytest.raises(Cancelled):
        export_dataset(project, out, ExportOptions(), progress=CancelAfter(5))
    assert not out.exists()
    assert _leftovers(out) == []


def _start_export(project: Project, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [cli_executable(), "export", str(project.folder), "--out", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_half_written(out: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        temps = [out.parent / n for n in _leftovers(out) if TMP_TAG in n]
        if temps and any(p.is_file() for p in temps[0].rglob("*.png")):
            time.sleep(0.5)  # the writer is now stuck on the FIFO
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the export never started writing")


@pytest.mark.skipif(sys.platform == "win32", reason="needs os.mkfifo and SIGKILL")
@pytest.mark.parametrize("force", [False, True])
def test_killed_export_leaves_no_half_written_folder(
    project: Project, tmp_path: Path, force: bool
) -> None:
    out = tmp_path / "out"
    if force:
        export(project, out, seed=1)
    before = tree_fingerprint(out) if force else None
    # A source that blocks its reader forever stops the export half-way, deterministically.
    victim = project.image_root / "owl" / "0005.png"
    saved = victim.read_bytes()
    victim.unlink()
    os.mkfifo(victim)
    try:
        proc = _start_export(project, out, *(["--force"] if force else []))
        _wait_for_half_written(out, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        victim.unlink()
        victim.write_bytes(saved)
    if force:
        assert tree_fingerprint(out) == before  # the old export is untouched
    else:
        assert not out.exists()
    assert any(TMP_TAG in n for n in _leftovers(out))
    # The next export removes what the killed one left.
    export(project, out, force=force)
    assert _leftovers(out) == []
    assert len(read_manifest(out)) == sum(COUNTS.values())


def test_hidden_folders_of_dead_exports_are_left_alone_unless_recorded(tmp_path: Path) -> None:
    """Only folders an export of this project recorded are swept, never one by its name."""
    with make_project(tmp_path, COUNTS) as project:
        folder = project.folder
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lookalike = tmp_path / f".out{OLD_TAG}{_safe_host()}-{dead.pid}-abcd"
    lookalike.mkdir()
    (lookalike / "provenance.json").write_text('{"labelaudit_version": "0"}')
    Project.open(folder).close()
    assert (lookalike / "provenance.json").is_file() and not (tmp_path / "out").exists()

"""``--force`` replaces only a folder that labelaudit wrote: every file listed with its sha256 in
the folder's own provenance.json. Anything else is refused, naming the first foreign file, and
left exactly as it was."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from export_helpers import export, project_fixture
from helpers import assert_one_error_line, run_cli, tree_fingerprint
from labelaudit.core.errors import InputError
from labelaudit.core.project import Project

COUNTS = {"cat": 4, "dog": 3}


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield from project_fixture(tmp_path, COUNTS)


def _refused(project: Project, out: Path, message: str) -> None:
    before = tree_fingerprint(out)
    dirs = sorted(p for p in out.rglob("*") if p.is_dir())
    with pytest.raises(InputError, match=message):
        export(project, out, force=True, seed=9)
    assert tree_fingerprint(out) == before
    assert sorted(p for p in out.rglob("*") if p.is_dir()) == dirs
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")) == []


def test_a_fake_provenance_does_not_make_a_folder_deletable(
    project: Project, tmp_path: Path
) -> None:
    out = tmp_path / "models"
    out.mkdir()
    (out / "provenance.json").write_text('{"labelaudit_version": "0.1"}\n')
    _refused(project, out, "not a labelaudit export")
    (out / "best.pt").write_bytes(b"weights")
    (out / "README.txt").write_text("my notes")
    _refused(project, out, "not a labelaudit export")


@pytest.mark.parametrize(
    ("add", "named"),
    [
        ("model.pt", "model.pt"),
        ("runs/exp1/weights.pt", "runs/"),
        ("runs/", "runs/"),
        ("train/cat/extra.png", "train/cat/extra.png"),
    ],
)
def test_a_users_file_inside_a_real_export_blocks_force(
    project: Project, tmp_path: Path, add: str, named: str
) -> None:
    out = tmp_path / "out"
    export(project, out)
    target = out / add
    if add.endswith("/"):
        target.mkdir()
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"the user's")
    _refused(project, out, f"holds {named}.*which labelaudit did not write")


def test_a_changed_file_or_provenance_blocks_force(project: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(project, out)
    image = next((out / "train" / "cat").iterdir())
    saved = image.read_bytes()
    image.write_bytes(b"retouched by the user")
    _refused(project, out, f"{image.relative_to(out).as_posix()}.*changed since labelaudit")
    image.write_bytes(saved)
    prov = json.loads((out / "provenance.json").read_text())
    prov["note"] = "my own remark"
    (out / "provenance.json").write_text(json.dumps(prov))
    _refused(project, out, "provenance.json was changed")


@pytest.mark.parametrize("mode", ["copy", "hardlink", "symlink"])
def test_force_replaces_a_previous_export_of_each_mode(
    project: Project, tmp_path: Path, mode: str
) -> None:
    out = tmp_path / "out"
    export(project, out, mode=mode, rebalance="oversample", seed=1)
    export(project, out, force=True, mode=mode, seed=2)
    assert json.loads((out / "provenance.json").read_text())["options"]["seed"] == 2
    leftovers = [p for p in out.parent.iterdir() if p.name.startswith(".out.")]
    assert leftovers == []


def test_a_deleted_file_does_not_block_force(project: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(project, out)
    os.unlink(out / "manifest.csv")
    export(project, out, force=True, seed=4)
    assert (out / "manifest.csv").is_file()


def test_cli_names_the_first_foreign_file_in_one_line(project: Project, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(project, out)
    (out / "model.pt").write_bytes(b"weights")
    proc = run_cli("export", project.folder, "--out", out, "--force")
    line = f"{out} is not only a previous export: it holds model.pt, which labelaudit did not"
    assert_one_error_line(proc, contains=line)
    assert (out / "model.pt").read_bytes() == b"weights"


def test_a_failed_commit_puts_both_folders_back(project: Project, tmp_path: Path) -> None:
    """DIR is renamed into place inside the transaction: if the commit fails, so does the swap."""
    import sqlalchemy as sa

    out = tmp_path / "out"
    export(project, out, seed=1)
    before = tree_fingerprint(out)

    def fail_once(_conn: object) -> None:
        if any(p.name.startswith(".out.labelaudit-old-") for p in tmp_path.iterdir()):
            sa.event.remove(project.store.engine, "commit", fail_once)  # published: fail now
            raise RuntimeError("injected commit failure")

    sa.event.listen(project.store.engine, "commit", fail_once)
    with pytest.raises(RuntimeError, match="injected"):
        export(project, out, force=True, seed=2)
    assert tree_fingerprint(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")] == []
    assert list((project.folder / "export-runs").iterdir()) == []
    with project.store.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM exports")).scalar_one() == 1


@pytest.mark.parametrize("native", [True, False])
def test_the_final_rename_never_replaces_anything(tmp_path: Path, native: bool) -> None:
    from labelaudit.core.export import rename

    if native and rename._native() is None:
        pytest.skip("no renameat2/renamex_np here")
    move = rename.rename_noreplace if native else rename._rename_checked
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_text("new")
    for existing in ("empty", "full", "file"):
        dst = tmp_path / existing
        if existing == "file":
            dst.write_text("mine")
        else:
            dst.mkdir()
            if existing == "full":
                (dst / "thesis.txt").write_text("mine")
        with pytest.raises(FileExistsError):
            move(src, dst)
        assert (src / "a").read_text() == "new"
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["thesis.txt"]
    move(src, tmp_path / "fresh")
    assert (tmp_path / "fresh" / "a").read_text() == "new" and not src.exists()

"""The installed ``labelaudit`` command: init, import, info, config, demo, and one-line failures."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import assert_one_error_line, make_tree, run_cli, tree_fingerprint, write_image


def test_init_info_import_roundtrip(tmp_path: Path, tiny_tree: Path) -> None:
    proj = tmp_path / "proj"
    before = tree_fingerprint(tiny_tree)
    out = run_cli("init", proj, "--images", tiny_tree, check=True)
    assert "15 new" in out.stdout
    info = json.loads(run_cli("info", proj, "--json", check=True).stdout)
    assert info["images"] == {"ok": 15, "broken": 0, "missing": 0, "unlabelled": 0}
    assert {k: v["ok"] for k, v in info["classes"].items()} == {"cat": 6, "dog": 5, "owl": 4}
    write_image(tiny_tree / "owl" / "new.png", seed=4242)
    again = run_cli("import", proj, check=True)
    assert "1 new" in again.stdout and "15 unchanged" in again.stdout
    text = run_cli("info", proj, check=True).stdout
    assert "owl" in text and "16 valid" in text
    assert tree_fingerprint(tiny_tree) == {
        **before,
        **{k: v for k, v in tree_fingerprint(tiny_tree).items() if k == "owl/new.png"},
    }


def test_problems_are_reported_and_strict_fails(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"a": 2, "b": 2})
    (root / "a" / "zero.jpg").write_bytes(b"")
    proc = run_cli("init", tmp_path / "p", "--images", root)
    assert proc.returncode == 0
    assert "empty_file: 1" in proc.stdout and "a/zero.jpg" in proc.stdout
    strict = run_cli("import", tmp_path / "p", "--strict")
    assert strict.returncode == 1
    info = json.loads(run_cli("info", tmp_path / "p", "--json", check=True).stdout)
    assert info["problems"]["empty_file"]["paths"] == ["a/zero.jpg"]


def test_manifest_import_via_cli(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"x": 3})
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "path,label,split\nx/0000.png,cat,train\nx/0001.png,dog,val\nx/0002.png,dog,test\n"
    )
    run_cli("init", tmp_path / "p", "--images", root, "--manifest", manifest, check=True)
    info = json.loads(run_cli("info", tmp_path / "p", "--json", check=True).stdout)
    assert {k: v["ok"] for k, v in info["classes"].items()} == {"cat": 1, "dog": 2}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "{tmp}/nothing"], "no project"),
        (["info", "{tmp}/foreign"], "not a labelaudit project"),
        (["init", "{tmp}/p", "--images", "{tmp}/missing"], "image folder not found"),
        (["init", "{tmp}/images/p", "--images", "{tmp}/images"], "inside the image root"),
        (
            ["init", "{tmp}/p", "--images", "{tmp}/images", "--manifest", "{tmp}/no.csv"],
            "manifest not found",
        ),
        (
            ["init", "{tmp}/p", "--images", "{tmp}/images", "--manifest", "{tmp}/bad.csv"],
            "path,label",
        ),
        (
            ["init", "{tmp}/p", "--images", "{tmp}/images", "--db", "mysql://x@y/z"],
            "unsupported database",
        ),
        (["config", "{tmp}/made", "votes_required", "zero"], "votes_required: expected a whole"),
        (
            ["config", "{tmp}/made", "votes_required", "0"],
            "votes_required: expected a whole number >= 1, got 0",
        ),
        (
            ["init", "{tmp}/p", "--images", "{tmp}/images", "--manifest", "{tmp}/split.csv"],
            "split.csv, line 3: unknown split 'bogus'",
        ),
        (["config", "{tmp}/made", "nonsense", "1"], "unknown setting"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    root = make_tree(tmp_path / "images", {"a": 2})
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "file.txt").write_text("x")
    (tmp_path / "bad.csv").write_text("file;class\n")
    (tmp_path / "split.csv").write_text(
        "path,label,split\na/0000.png,a,train\na/0001.png,a,bogus\n"
    )
    if "{tmp}/made" in args[1]:
        run_cli("init", tmp_path / "made", "--images", root, check=True)
    proc = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert_one_error_line(proc, contains=message)
    if args[0] == "init":
        assert not (tmp_path / "p").exists() and not (root / "p").exists()


def test_locked_database_is_one_clear_line(tmp_path: Path, tiny_tree: Path) -> None:
    run_cli("init", tmp_path / "p", "--images", tiny_tree, check=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3,sys,time;c=sqlite3.connect(sys.argv[1],isolation_level=None);"
            "c.execute('BEGIN IMMEDIATE');print('locked',flush=True);time.sleep(30)",
            str(tmp_path / "p" / "labelaudit.db"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        proc = run_cli(
            "config", tmp_path / "p", "blind", "false", env={"LABELAUDIT_LOCK_TIMEOUT": "1"}
        )
        assert time.monotonic() - start < 20
        assert_one_error_line(proc, contains="locked")
    finally:
        holder.kill()
        holder.wait()
    with sqlite3.connect(tmp_path / "p" / "labelaudit.db") as conn:
        assert conn.execute("select count(*) from settings").fetchone()[0] == 0


def test_full_disk_is_one_clear_line(tmp_path: Path, tiny_tree: Path, monkeypatch, capsys) -> None:
    import errno

    from labelaudit.cli import main as cli_main
    from labelaudit.core import project as project_mod

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "p"))

    monkeypatch.setattr(project_mod.Project, "create", full)
    code = cli_main.main(["init", str(tmp_path / "p"), "--images", str(tiny_tree)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "no space left" in err[0]


def test_config_reads_and_sets(tmp_path: Path, tiny_tree: Path) -> None:
    run_cli("init", tmp_path / "p", "--images", tiny_tree, check=True)
    assert run_cli("config", tmp_path / "p", "votes_required", check=True).stdout.strip() == "3"
    run_cli("config", tmp_path / "p", "min_agreement", "0.75", check=True)
    run_cli("config", tmp_path / "p", "review_issue_types", "label,outlier", check=True)
    values = json.loads(run_cli("config", tmp_path / "p", "--json", check=True).stdout)
    assert values["min_agreement"] == "3/4"
    assert values["review_issue_types"] == ["label", "outlier"]


def test_postgres_project_via_cli(tmp_path: Path, tiny_tree: Path, pg_url: str) -> None:
    run_cli("init", tmp_path / "p", "--images", tiny_tree, "--db", pg_url, check=True)
    assert not (tmp_path / "p" / "labelaudit.db").exists()
    info = json.loads(run_cli("info", tmp_path / "p", "--json", check=True).stdout)
    assert info["images"]["ok"] == 15 and info["database"].startswith("postgresql+psycopg")


def test_demo_builds_dataset_project_and_answer_key(tmp_path: Path) -> None:
    proc = run_cli(
        "demo",
        tmp_path / "demo",
        "--no-gui",
        "--noise",
        "0.2",
        "--seed",
        "3",
        "--skip-scan",
        check=True,
    )
    assert "planted wrong" in proc.stdout
    assert "ana and bob (annotators) and lena (lead) are registered" in proc.stdout
    truth = (tmp_path / "demo" / "truth.csv").read_text().splitlines()
    assert truth[0] == "path,true_label,given_label"
    rows = [line.rsplit(",", 2) for line in truth[1:]]
    flipped = sum(t != g for _, t, g in rows)
    assert abs(flipped - round(0.2 * len(rows))) <= 1
    assert not list((tmp_path / "demo" / "images").rglob("truth*"))
    info = json.loads(run_cli("info", tmp_path / "demo" / "project", "--json", check=True).stdout)
    assert info["images"]["ok"] == len(rows) and info["images"]["broken"] == 3
    people = run_cli("annotators", "list", tmp_path / "demo" / "project", check=True).stdout
    assert all(name in people for name in ("ana", "bob", "lena"))
    again = run_cli("demo", tmp_path / "demo", "--no-gui", "--skip-scan", check=True)
    assert "reusing" in again.stdout
    assert "built with --seed 3 --noise 0.2: ignoring --seed 0 --noise 0.1" in again.stdout
    bad = run_cli("demo", tmp_path / "demo", "--rebuild", "--noise", "2", "--no-gui")
    assert_one_error_line(bad, contains="--noise")
    assert (tmp_path / "demo" / "truth.csv").read_text().splitlines() == truth  # not deleted


def test_help_lists_commands_and_gui_without_qt_import() -> None:
    proc = run_cli("--help", check=True)
    for command in ("init", "import", "info", "config", "demo", "gui"):
        assert command in proc.stdout

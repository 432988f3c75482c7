"""Escape codes and bidi controls in file and annotator names never reach the terminal raw
(issue 10, item 13): they are shown as visible escapes, and JSON keeps the same values."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from helpers import make_tree, run_cli, write_image

RED = "\x1b[31m"
RLO = "\u202e"  # right-to-left override: "evil\u202egnp.png" reads "evilpng.png"
GOOD = f"cat/{RED}red{RLO}gnp.png"
BAD = f"cat/{RED}bad{RLO}.png"
WHO = f"{RLO}eve"


def _assert_clean(proc: subprocess.CompletedProcess[str]) -> str:
    shown = proc.stdout + proc.stderr
    for raw in ("\x1b", RLO, "\x9b"):
        assert raw not in shown, shown
    return shown


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("term")
    root = make_tree(base / "images", {"cat": 2, "dog": 2})
    write_image(root / GOOD, seed=99)
    (root / BAD).write_text("not an image")
    proj = base / "proj"
    init = run_cli("init", proj, "--images", root, check=True)
    return proj, _assert_clean(init)


def test_names_are_escaped_in_every_listing(project: tuple[Path, str]) -> None:
    proj, init_output = project
    assert "cat/\\x1b[31mbad\\u202e.png" in init_output  # the import's problem listing
    info = _assert_clean(run_cli("info", proj, check=True))
    assert "cat/\\x1b[31mbad\\u202e.png" in info
    _assert_clean(run_cli("annotators", "add", proj, WHO, check=True))
    listed = _assert_clean(run_cli("annotators", "list", proj, check=True))
    assert "\\u202eeve" in listed
    voted = _assert_clean(run_cli("vote", proj, "--annotator", WHO, GOOD, "dog", check=True))
    assert "\\u202eeve voted dog on cat/\\x1b[31mred\\u202egnp.png" in voted
    run_cli("annotators", "add", proj, "lee", "--role", "lead", check=True)
    queue = run_cli("queue", proj, "--annotator", "lee", "--disagreements", check=True)
    assert "cat/\\x1b[31mred\\u202egnp.png" in _assert_clean(queue)
    _assert_clean(run_cli("queue", proj, "--annotator", WHO, check=True))
    assert "\\u202eeve" in _assert_clean(run_cli("agreement", proj, check=True))
    resolved = run_cli("resolve", proj, "--lead", "lee", GOOD, "dog", check=True)
    assert "cat/\\x1b[31mred\\u202egnp.png" in _assert_clean(resolved)
    _assert_clean(run_cli("info", proj, check=True))


def test_json_keeps_the_values_but_not_the_raw_characters(project: tuple[Path, str]) -> None:
    proj, _ = project
    proc = run_cli("info", proj, "--json", check=True)
    _assert_clean(proc)
    paths = json.loads(proc.stdout)["problems"]
    assert any(BAD in entry["paths"] for entry in paths.values())


def test_an_error_line_escapes_the_name(project: tuple[Path, str], tmp_path: Path) -> None:
    proj, _ = project
    proc = run_cli("vote", proj, "--annotator", f"{RLO}nobody", "cat/0000.png", "keep")
    assert proc.returncode == 2
    assert "\\u202enobody" in _assert_clean(proc)
    votes = tmp_path / "v.csv"
    votes.write_text(f"annotator,path,label\nann,cat/{RED}none{RLO}.png,cat\n", encoding="utf-8")
    proc = run_cli("votes", "import", proj, votes)
    assert proc.returncode == 2 and "line 2" in _assert_clean(proc)

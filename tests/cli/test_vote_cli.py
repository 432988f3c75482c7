"""The review sub-commands end to end through the installed CLI, on both backends."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from helpers import assert_one_error_line, cli_executable, make_tree, run_cli
from labelaudit.core.consensus.annotators import add_annotator
from labelaudit.core.project import Project
from labelaudit.core.store.schema import audit_log, consensus_runs, decisions, votes
from review_helpers import ids_by_path, store_scan


def _count(project_dir: Path, table: sa.Table) -> int:
    with Project.open(project_dir) as project, project.store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


TEAM = {"ann": "annotator", "bob": "annotator", "cyd": "annotator", "lee": "lead"}


@pytest.fixture
def cli_project_dir(tmp_path: Path, tiny_tree: Path, backend: str | None) -> Path:
    """The team of ``project_dir``, set up through the CLI itself (init, annotators, config)."""
    proj = tmp_path / "proj"
    run_cli(
        "init", proj, "--images", tiny_tree, *(["--db", backend] if backend else []), check=True
    )
    for name in ("ann", "bob", "cyd"):
        run_cli("annotators", "add", proj, name, check=True)
    run_cli("annotators", "add", proj, "lee", "--role", "lead", check=True)
    run_cli("config", proj, "votes_required", "2", check=True)
    return proj


@pytest.fixture
def project_dir(tmp_path: Path, tiny_tree: Path, backend: str | None) -> Path:
    """ann, bob, cyd and the lead lee; votes_required 2: made in this process by the core calls
    behind init, annotators add and config (six CLI starts less a test; cli_project_dir makes it
    through the CLI)."""
    with Project.create(tmp_path / "proj", tiny_tree, db_url=backend) as project:
        project.import_images()
        for name, role in TEAM.items():
            add_annotator(project.store, name, role=role)
        project.set_setting("votes_required", "2")
    return tmp_path / "proj"


@pytest.fixture(scope="module")
def shared_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite project for the error cases (which must leave it unchanged)."""
    base = tmp_path_factory.mktemp("errors")
    root = make_tree(base / "images", {"cat": 2, "dog": 1})
    proj = base / "proj"
    run_cli("init", proj, "--images", root, check=True)
    run_cli("annotators", "add", proj, "ann", check=True)
    run_cli("vote", proj, "--annotator", "ann", "dog/0000.png", "cat", check=True)
    return proj


def test_review_workflow(cli_project_dir: Path, tiny_tree: Path, tmp_path: Path) -> None:
    p = cli_project_dir
    listed = json.loads(run_cli("annotators", "list", p, "--json", check=True).stdout)
    assert listed == [{"name": n, "role": r} for n, r in TEAM.items()]
    out = run_cli(
        "vote", p, "--annotator", "ann", "cat/0000.png", "keep", "--note", "fine", check=True
    )
    assert "ann voted keep (cat) on cat/0000.png" in out.stdout
    queue = json.loads(run_cli("queue", p, "--annotator", "cyd", "--json", check=True).stdout)
    assert [r["path"] for r in queue["images"]] == ["cat/0000.png"]
    assert queue["images"][0]["votes"] == "1 of 2"
    run_cli("vote", p, "--annotator", "bob", tiny_tree / "cat" / "0000.png", "dog", check=True)
    run_cli("vote", p, "--annotator", "cyd", "cat/0000.png", "cat", check=True)
    run_cli("vote", p, "--annotator", "ann", "dog/0000.png", "drop", check=True)
    run_cli("vote", p, "--annotator", "bob", "dog/0000.png", "owl", check=True)

    run_cli("consensus", p, "--format", "json", "-o", tmp_path / "c.json", check=True)
    rows = {r["path"]: r for r in json.loads((tmp_path / "c.json").read_text())["images"]}
    assert rows["cat/0000.png"]["consensus_label"] == "cat"
    assert rows["cat/0000.png"]["state"] == "agreed" and rows["cat/0000.png"]["n_votes"] == 3
    assert rows["dog/0000.png"]["needs_lead"] is True
    table = _csv(run_cli("consensus", p, "--method", "dawid-skene", check=True).stdout)
    assert {"path", "consensus_label", "consensus_quality", "n_votes", "agreement"} <= set(table[0])
    assert [r["path"] for r in table] == ["cat/0000.png", "dog/0000.png"]
    blind = _csv(run_cli("consensus", p, "--as", "cyd", check=True).stdout)
    assert [r["path"] for r in blind] == ["cat/0000.png"]  # cyd has not voted on dog/0000.png
    lead_view = _csv(run_cli("consensus", p, "--as", "lee", check=True).stdout)
    assert len(lead_view) == 2

    waiting = json.loads(
        run_cli("queue", p, "--annotator", "lee", "--disagreements", "--json", check=True).stdout
    )
    cast = {v["annotator"]: v["vote"] for v in waiting["images"][0]["votes"]}
    assert cast == {"ann": "drop", "bob": "owl"}
    before = _count(p, decisions)
    assert_one_error_line(
        run_cli("resolve", p, "--lead", "ann", "dog/0000.png", "owl"), contains="not a lead"
    )
    assert _count(p, decisions) == before
    run_cli("resolve", p, "--lead", "lee", "dog/0000.png", "owl", "--note", "owl", check=True)
    final = _csv(run_cli("consensus", p, check=True).stdout)
    assert {r["path"]: (r["state"], r["final_label"], r["source"]) for r in final} == {
        "cat/0000.png": ("agreed", "cat", "consensus"),
        "dog/0000.png": ("resolved", "owl", "lead"),
    }
    run_cli("review", "add", p, "owl/0003.png", "--lead", "lee", check=True)
    queue = json.loads(run_cli("queue", p, "--annotator", "ann", "--json", check=True).stdout)
    assert [r["path"] for r in queue["images"]] == ["owl/0003.png"]

    report = json.loads(run_cli("agreement", p, "--json", check=True).stdout)
    assert report["project"]["votes"] == 5 and "cohen_kappa" in report
    assert "Krippendorff" in run_cli("agreement", p, check=True).stdout

    with Project.open(p) as project, project.store.read() as conn:
        logged = conn.execute(sa.select(audit_log.c.action, audit_log.c.actor)).all()
    assert logged.count(("vote", "ann")) == 2 and ("resolve", "lee") in logged
    assert ("review_add", "lee") in logged
    assert sum(1 for a, _ in logged if a == "consensus_run") == 5


def test_votes_export_import_round_trip(project_dir: Path, tiny_tree: Path, tmp_path: Path) -> None:
    p = project_dir
    for who, path, what in [
        ("ann", "cat/0001.png", "dog"),
        ("ann", "cat/0001.png", "cat"),
        ("bob", "cat/0001.png", "drop"),
        ("cyd", "owl/0000.png", "unsure"),
        ("bob", "owl/0000.png", "owl"),
    ]:
        run_cli("vote", p, "--annotator", who, path, what, check=True)
    exported = tmp_path / "votes.csv"
    run_cli("votes", "export", p, "-o", exported, check=True)
    rows = _csv(exported.read_text())
    assert [r["label"] for r in rows] == ["cat", "drop", "unsure", "owl"]  # the current votes
    history = tmp_path / "history.csv"
    run_cli("votes", "export", p, "--history", "-o", history, check=True)
    assert [r["label"] for r in _csv(history.read_text())] == [
        "dog",
        "cat",
        "drop",
        "unsure",
        "owl",
    ]
    again = run_cli("votes", "import", p, history, check=True)
    assert "0 votes added, 5 already stored" in again.stdout
    assert _count(p, votes) == 5
    other = tmp_path / "other"
    run_cli("init", other, "--images", tiny_tree, check=True)
    run_cli("config", other, "votes_required", "2", check=True)
    first = run_cli("votes", "import", other, history, check=True)
    assert "5 votes added" in first.stdout and "new annotators: ann, bob, cyd" in first.stdout
    theirs = _csv(run_cli("consensus", other, check=True).stdout)
    ours = _csv(run_cli("consensus", p, check=True).stdout)
    assert theirs == ours
    assert _csv(run_cli("votes", "export", other, check=True).stdout) == rows


def test_votes_import_without_ids_is_idempotent(project_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "annotator,path,label,note\n"
        "zoe,cat/0002.png,dog,\n"
        "zoe,cat/0002.png,cat,second thoughts\n"
        "zoe,cat/0002.png,dog,\n"
        "yan,cat/0002.png,class:dog,\n",
        encoding="utf-8",
    )
    assert "4 votes added" in run_cli("votes", "import", project_dir, source, check=True).stdout
    assert "0 votes added" in run_cli("votes", "import", project_dir, source, check=True).stdout
    rows = _csv(run_cli("consensus", project_dir, check=True).stdout)
    assert rows[0]["consensus_label"] == "dog" and rows[0]["n_votes"] == "2"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vote", "{p}", "--annotator", "zed", "cat/0000.png", "keep"], "unknown annotator"),
        (["vote", "{p}", "--annotator", "ann", "cat/0000.png", "lion"], "unknown class"),
        (["vote", "{p}", "--annotator", "ann", "cat/nope.png", "keep"], "no image"),
        (["vote", "{p}", "--annotator", "ann", "/etc/passwd", "keep"], "not under the image root"),
        (["vote", "{p}", "--annotator", "ann", "../x.png", "keep"], "escapes"),
        (["annotators", "add", "{p}", "max", "--role", "boss"], "unknown role"),
        (["resolve", "{p}", "--lead", "zed", "cat/0000.png", "keep"], "unknown annotator"),
        (["review", "add", "{p}", "cat/0000.png", "cat/none.png", "--lead", "ann"], "no image"),
        (["review", "add", "{p}", "cat/0000.png", "--lead", "ann"], "not a lead"),
        (["queue", "{p}", "--annotator", "ann", "--limit", "-1"], "--limit must be 0 or more"),
        (["queue", "{p}", "--annotator", "ann", "--disagreements"], "not a lead"),
        (["consensus", "{p}", "--method", "crowdlab"], "needs a finished scan"),
        (
            ["consensus", "{p}", "--method", "vote-counting"],
            "unknown consensus method 'vote-counting'",
        ),
        (["queue", "{p}", "--annotator", "ann", "--method", "x"], "unknown consensus method 'x'"),
        (["config", "{p}", "target_accuracy", "0"], "target_accuracy: expected a number in (0, 1]"),
        (["config", "{p}", "target_accuracy", "1.5"], "target_accuracy: expected a number in (0,"),
        (["config", "{p}", "target_accuracy", "nan"], "target_accuracy: expected a number in (0,"),
        (["consensus", "{p}", "--as", "zed"], "unknown annotator"),
        (["votes", "import", "{p}", "{tmp}/missing.csv"], "no such file"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    shared_project: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    before = (_count(shared_project, votes), _count(shared_project, audit_log))
    filled = [a.format(p=shared_project, tmp=tmp_path) for a in args]
    assert_one_error_line(run_cli(*filled), contains=message)
    assert (_count(shared_project, votes), _count(shared_project, audit_log)) == before
    assert _count(shared_project, consensus_runs) == 0
    shown = run_cli("config", shared_project, "target_accuracy", check=True).stdout
    assert shown.strip() == "0.98"


def test_team_smaller_than_votes_required_is_said(project_dir: Path) -> None:
    p = project_dir  # ann, bob, cyd and the lead lee; votes_required 2
    note = "votes_required is 4 but the team has 3 annotators"
    assert note in run_cli("config", p, "votes_required", "4", check=True).stderr
    assert note in run_cli("config", p, check=True).stderr
    added = run_cli("annotators", "add", p, "lea", "--role", "lead", check=True)
    assert note in added.stderr  # a lead does not vote: still 3
    added = run_cli("annotators", "add", p, "dee", check=True)
    assert "votes_required" not in added.stderr  # four now


def test_votes_import_checks_every_row_first(shared_project: Path, tmp_path: Path) -> None:
    project_dir = shared_project
    source = tmp_path / "bad.csv"
    source.write_text(
        "annotator,path,label\nann,cat/0000.png,cat\nann,cat/0001.png,lion\nnew,dog/9.png,dog\n",
        encoding="utf-8",
    )
    before = (_count(project_dir, votes), _count(project_dir, audit_log))
    proc = run_cli("votes", "import", project_dir, source)
    assert_one_error_line(proc, contains="line 3: unknown class 'lion'")
    assert "and 1 more" in proc.stderr and "nothing was imported" in proc.stderr
    assert (_count(project_dir, votes), _count(project_dir, audit_log)) == before
    names = json.loads(run_cli("annotators", "list", project_dir, "--json", check=True).stdout)
    assert "new" not in {a["name"] for a in names}
    (tmp_path / "cols.csv").write_text("who,path,label\n", encoding="utf-8")
    assert_one_error_line(
        run_cli("votes", "import", project_dir, tmp_path / "cols.csv"), contains="missing annotator"
    )


def test_class_named_like_a_reserved_word(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"drop": 2, "cat": 2})
    p = tmp_path / "p"
    run_cli("init", p, "--images", root, check=True)
    run_cli("annotators", "add", p, "ann", check=True)
    out = run_cli("vote", p, "--annotator", "ann", "cat/0000.png", "class:drop", check=True)
    assert "voted drop on" in out.stdout
    run_cli("vote", p, "--annotator", "ann", "cat/0001.png", "drop", check=True)
    rows = _csv(run_cli("votes", "export", p, check=True).stdout)
    assert [r["label"] for r in rows] == ["class:drop", "drop"]


def test_votes_import_rejects_a_stored_vote_id_with_another_decision(
    shared_project: Path, tmp_path: Path
) -> None:
    stored = _csv(run_cli("votes", "export", shared_project, check=True).stdout)[0]
    vote_id = stored["vote_id"]  # ann's vote "cat" on dog/0000.png
    before = (_count(shared_project, votes), _count(shared_project, audit_log))
    for label, line in (("drop", 2), ("dog", 2)):
        source = tmp_path / f"reuse-{label}.csv"
        source.write_text(
            f"annotator,path,label,vote_id\nann,dog/0000.png,{label},{vote_id}\n", encoding="utf-8"
        )
        assert_one_error_line(
            run_cli("votes", "import", shared_project, source),
            contains=f"line {line}: vote id {vote_id} is already stored with another decision",
        )
    twice = tmp_path / "twice.csv"  # the same new id twice in one file, two decisions
    new_id = "6a0b8a8e-2f0e-4c4b-9a0e-0d6f1f3b6c21"
    twice.write_text(
        "annotator,path,label,vote_id\n"
        f"ann,cat/0000.png,cat,{new_id}\n"
        f"ann,cat/0000.png,dog,{new_id}\n",
        encoding="utf-8",
    )
    assert_one_error_line(
        run_cli("votes", "import", shared_project, twice),
        contains="line 3: vote id",
    )
    same = tmp_path / "same.csv"  # the very same vote again is a re-import: nothing added
    same.write_text(
        f"annotator,path,label,vote_id\nann,dog/0000.png,cat,{vote_id}\n", encoding="utf-8"
    )
    assert (
        "0 votes added, 1 already stored"
        in run_cli("votes", "import", shared_project, same, check=True).stdout
    )
    assert (_count(shared_project, votes), _count(shared_project, audit_log)) == before


def test_review_add_needs_a_lead(shared_project: Path) -> None:
    before = _count(shared_project, audit_log)
    proc = run_cli("review", "add", shared_project, "cat/0000.png")
    assert proc.returncode == 2 and "required: --lead" in proc.stderr
    assert _count(shared_project, audit_log) == before


def test_no_annotator_left_and_crowdlab_suggestion_note(project_dir: Path) -> None:
    p = project_dir  # ann, bob, cyd and the lead lee; votes_required 2
    run_cli("config", p, "votes_required", "3", check=True)
    for who, what in (("ann", "cat"), ("bob", "cat"), ("cyd", "unsure")):
        run_cli("vote", p, "--annotator", who, "cat/0000.png", what, check=True)
    for who in ("ann", "bob"):
        run_cli("vote", p, "--annotator", who, "dog/0000.png", "dog", check=True)
    lead_queue = ("queue", p, "--annotator", "lee", "--disagreements", "--json")
    # everyone voted on cat/0000 and the evidence is confident: settled (issue 12's team rule)
    assert json.loads(run_cli(*lead_queue, check=True).stdout)["images"] == []
    rows = {r["path"]: r for r in _csv(run_cli("consensus", p, check=True).stdout)}
    assert rows["cat/0000.png"]["state"] == "agreed"
    run_cli("config", p, "target_accuracy", "1", check=True)  # nothing is that sure: the lead
    waiting = json.loads(run_cli(*lead_queue, check=True).stdout)
    assert [(r["path"], r["reason"]) for r in waiting["images"]] == [
        ("cat/0000.png", "no annotator left")
    ]
    rows = {r["path"]: r for r in _csv(run_cli("consensus", p, check=True).stdout)}
    assert rows["cat/0000.png"]["state"] == "needs_lead"
    assert rows["cat/0000.png"]["lead_reason"] == "no annotator left"
    assert rows["dog/0000.png"]["state"] == "needs_votes"  # cyd can still vote on it
    with Project.open(p) as project:
        store_scan(project, flagged=np.zeros(len(ids_by_path(project)), dtype=bool))
    proc = run_cli("consensus", p, "--method", "crowdlab", check=True)
    # CLI votes record show_suggestion (default on): all 4 class votes saw the suggestion
    assert (
        "labelaudit: note: 4 of 4 votes were cast with the model's suggestion shown" in proc.stderr
    )
    assert "consider show_suggestion off" in proc.stderr


def test_ties_go_to_the_lead_without_a_consensus_label(project_dir: Path) -> None:
    p = project_dir  # ann, bob, cyd and the lead lee; votes_required 2
    for who, path, what in [
        ("ann", "cat/0000.png", "cat"),  # 1-1
        ("bob", "cat/0000.png", "dog"),
        ("ann", "dog/0000.png", "cat"),  # 2-2
        ("bob", "dog/0000.png", "cat"),
        ("cyd", "dog/0000.png", "dog"),
        ("lee", "dog/0000.png", "dog"),
        ("ann", "owl/0000.png", "drop"),  # drop against a 2-vote relabel
        ("bob", "owl/0000.png", "cat"),
        ("cyd", "owl/0000.png", "cat"),
        ("ann", "cat/0001.png", "cat"),  # agreed
        ("bob", "cat/0001.png", "cat"),
    ]:
        run_cli("vote", p, "--annotator", who, path, what, check=True)
    for method in ("majority", "dawid-skene"):
        rows = {r["path"]: r for r in _csv(run_cli("consensus", p, "--method", method).stdout)}
        row = rows["cat/0000.png"]  # 1-1 and cyd has not voted: one more vote, not the lead
        assert (row["consensus_label"], row["needs_lead"], row["lead_reason"]) == (
            "",
            "false",
            "one more vote",
        ), (method, row)
        assert row["state"] == "needs_votes"
        row = rows["dog/0000.png"]  # 2-2, every annotator voted: the lead
        assert (row["consensus_label"], row["needs_lead"], row["lead_reason"]) == (
            "",
            "true",
            "tie",
        ), (method, row)
        assert row["consensus_quality"] == "0.5000" and row["state"] == "needs_lead"
        assert rows["owl/0000.png"]["consensus_label"] == "cat"
        assert rows["owl/0000.png"]["lead_reason"] == "drop vs relabel"
        assert rows["cat/0001.png"]["needs_lead"] == "false"
        assert rows["cat/0001.png"]["method_label"] == "cat"
        if method == "majority":  # plurality has no tie-break of its own
            assert rows["dog/0000.png"]["method_label"] == ""
        else:
            assert rows["dog/0000.png"]["method_label"] in ("cat", "dog")
    waiting = json.loads(
        run_cli("queue", p, "--annotator", "lee", "--disagreements", "--json", check=True).stdout
    )
    reasons = {r["path"]: (r["consensus_label"], r["reason"]) for r in waiting["images"]}
    assert reasons == {
        "dog/0000.png": ("", "tie"),
        "owl/0000.png": ("cat", "drop vs relabel"),
    }


def test_review_add_counts_images_already_in_review(project_dir: Path) -> None:
    p = project_dir
    with Project.open(p) as project:
        ids = ids_by_path(project)
        flagged = np.array([path == "cat/0000.png" for path in ids])
        store_scan(project, flagged=flagged)
    run_cli("vote", p, "--annotator", "ann", "dog/0000.png", "dog", check=True)
    run_cli("review", "add", p, "owl/0000.png", "--lead", "lee", check=True)
    out = run_cli(
        "review",
        "add",
        p,
        "cat/0000.png",
        "dog/0000.png",
        "owl/0000.png",
        "owl/0001.png",
        "--lead",
        "lee",
        check=True,
    ).stdout
    assert "1 images put into review (3 already were)" in out  # flagged, voted on, requested
    queue = json.loads(run_cli("queue", p, "--annotator", "bob", "--json", check=True).stdout)
    assert {r["path"] for r in queue["images"]} == {
        "cat/0000.png",
        "dog/0000.png",
        "owl/0000.png",
        "owl/0001.png",
    }


def test_resolve_offers_only_what_it_accepts(project_dir: Path) -> None:
    before = _count(project_dir, decisions)
    proc = run_cli("resolve", project_dir, "--lead", "lee", "cat/0000.png", "lion")
    assert_one_error_line(proc, contains="unknown class 'lion': expected keep, drop or a class")
    assert "unsure" not in proc.stderr
    vote = run_cli("vote", project_dir, "--annotator", "ann", "cat/0000.png", "lion")
    assert_one_error_line(vote, contains="expected keep, drop, unsure or a class")
    assert _count(project_dir, decisions) == before


def test_a_path_relative_to_the_current_folder(project_dir: Path, tiny_tree: Path) -> None:
    here = tiny_tree.parent  # holds images/ (the image root) and proj/
    command = [cli_executable(), "vote", str(project_dir), "--annotator", "ann"]
    proc = subprocess.run(
        [*command, f"{tiny_tree.name}/cat/0003.png", "dog"],
        cwd=here,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ann voted dog on cat/0003.png" in proc.stdout
    missing = subprocess.run(
        [*command, "proj/cat/0003.png", "dog"],
        cwd=here,
        capture_output=True,
        text=True,
        check=False,
    )
    assert_one_error_line(missing, contains="paths are relative to the image root")
    assert str(tiny_tree) in missing.stderr


def test_vote_after_a_lead_decision_is_kept_with_a_note(project_dir: Path) -> None:
    p = project_dir
    run_cli("resolve", p, "--lead", "lee", "cat/0000.png", "dog", check=True)
    proc = run_cli("vote", p, "--annotator", "ann", "cat/0000.png", "owl", check=True)
    assert "ann voted owl on cat/0000.png" in proc.stdout
    assert (
        "labelaudit: note: a lead already decided this image (dog); your vote is kept but changes "
        "nothing" in proc.stderr
    )
    fresh = run_cli("vote", p, "--annotator", "ann", "cat/0001.png", "owl", check=True)
    assert "note" not in fresh.stderr
    rows = {r["path"]: r for r in _csv(run_cli("consensus", p, check=True).stdout)}
    assert rows["cat/0000.png"]["final_label"] == "dog" and rows["cat/0000.png"]["n_votes"] == "1"


@contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """A folder nobody may write into (root too: chattr +i where chmod does not stop root)."""
    folder.mkdir()
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], check=False).returncode != 0:
            pytest.skip("running as root without chattr: cannot make a read-only folder")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)


def test_outputs_into_a_read_only_folder_name_the_users_path(
    shared_project: Path, tmp_path: Path
) -> None:
    ro = tmp_path / "ro"
    with _read_only(ro):
        for args, target in (
            (["votes", "export", shared_project, "-o"], ro / "v.csv"),
            (["consensus", shared_project, "-o"], ro / "c.csv"),
        ):
            runs = _count(shared_project, audit_log)
            proc = run_cli(*args, target)
            assert_one_error_line(proc, contains=f"cannot write {target}: ")
            assert ".tmp" not in proc.stderr
            assert _count(shared_project, audit_log) == runs  # no consensus run stored
        assert list(ro.iterdir()) == []


def test_votes_import_of_a_folder(shared_project: Path, tmp_path: Path) -> None:
    proc = run_cli("votes", "import", shared_project, tmp_path)
    assert_one_error_line(proc, contains=f"{tmp_path} is a folder, not a CSV file")

"""Counts that agree: ``info``, ``agreement``, ``votes export`` and the app count the same
current votes on a project with replaced and retracted votes; the history is a flag away; the
export carries votes.csv and decisions.csv, listed in provenance.json, and --force still works."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from helpers import run_cli
from labelaudit.core.commands import AcceptCommand
from labelaudit.core.consensus import annotators as reg
from labelaudit.core.consensus.decisions import Decision
from labelaudit.core.consensus.outcome import review_agreement
from labelaudit.core.consensus.votes import cast_vote, retract_vote
from labelaudit.core.export.ownership import PROVENANCE
from labelaudit.core.project import Project
from labelaudit.core.views import load_review_data
from review_helpers import ids_by_path


def _vote(project: Project, who: str, image_id: int, decision: str) -> str:
    return cast_vote(
        project.store, annotator=who, image_id=image_id, decision=decision, suggestion_shown=False
    ).vote_id


def _history_project(tmp_path: Path, tiny_tree: Path) -> Path:
    """4 current votes (1 unsure) out of 7 records: replaced, retracted, re-current."""
    proj = Project.create(tmp_path / "proj", tiny_tree)
    proj.import_images(workers=1)
    ids = ids_by_path(proj)
    a, b = ids["cat/0000.png"], ids["dog/0000.png"]
    for name in ("ann", "bob", "cyd"):
        reg.add_annotator(proj.store, name)
    reg.add_annotator(proj.store, "lee", role="lead")
    _vote(proj, "ann", a, "dog")
    _vote(proj, "ann", a, "owl")  # replaces dog
    retract_vote(proj.store, annotator="bob", vote_id=_vote(proj, "bob", a, "dog"))
    _vote(proj, "bob", b, "owl")
    retract_vote(proj.store, annotator="bob", vote_id=_vote(proj, "bob", b, "cat"))  # owl again
    _vote(proj, "cyd", a, "unsure")
    _vote(proj, "cyd", b, "drop")
    AcceptCommand(proj.store, lead="lee", picks=[(b, Decision("drop"), "test")]).do()
    proj.close()
    return tmp_path / "proj"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_info_agreement_votes_export_and_app_count_the_same_votes(
    tmp_path: Path, tiny_tree: Path
) -> None:
    p = _history_project(tmp_path, tiny_tree)
    info = json.loads(run_cli("info", p, "--json", check=True).stdout)
    assert (info["votes"], info["votes_unsure"], info["vote_records"]) == (4, 1, 7)
    per = {a["name"]: (a["votes"], a["vote_records"]) for a in info["annotators"]}
    assert per == {"ann": (1, 2), "bob": (1, 3), "cyd": (2, 2), "lee": (0, 0)}
    text = run_cli("info", p, check=True).stdout
    assert "votes       4 current" in text and "vote records 7" in text
    agreement = json.loads(run_cli("agreement", p, "--json", check=True).stdout)
    assert (agreement["project"]["votes"], agreement["project"]["votes_unsure"]) == (4, 1)
    assert {a["name"]: a["votes"] for a in agreement["annotators"]} == {
        n: v for n, (v, _) in per.items()
    }
    current = _rows(run_cli("votes", "export", p, check=True).stdout)
    assert sorted((r["annotator"], r["path"], r["label"]) for r in current) == [
        ("ann", "cat/0000.png", "owl"),
        ("bob", "dog/0000.png", "owl"),
        ("cyd", "cat/0000.png", "unsure"),
        ("cyd", "dog/0000.png", "drop"),
    ]
    history = _rows(run_cli("votes", "export", p, "--history", check=True).stdout)
    assert len(history) == 7
    assert sorted(r["status"] for r in history) == sorted(
        ["current"] * 4 + ["replaced", "retracted", "retracted"]
    )
    with Project.open(p) as project:  # the app: the grid's data and its Agreement tab
        data = load_review_data(project.store)
        assert data.review is not None and len(data.review.data.votes) == 4
        _, app_report = review_agreement(data.review)
    assert app_report["project"]["votes"] == 4
    # A history file imports back to the same current votes (retracted rows are skipped).
    out = tmp_path / "history.csv"
    run_cli("votes", "export", p, "--history", "-o", out, check=True)
    again = run_cli("votes", "import", p, out, check=True).stdout
    assert "0 votes added, 5 already stored" in again
    assert json.loads(run_cli("info", p, "--json", check=True).stdout)["votes"] == 4


def test_export_carries_votes_and_decision_path_listed_in_provenance(
    tmp_path: Path, tiny_tree: Path
) -> None:
    p = _history_project(tmp_path, tiny_tree)
    out = tmp_path / "out"
    run_cli("export", p, "--out", out, "--format", "imagefolder,csv", check=True)
    votes = _rows((out / "votes.csv").read_text(encoding="utf-8"))
    exported = _rows(run_cli("votes", "export", p, check=True).stdout)
    assert [(r["annotator"], r["path"], r["label"], r["time"]) for r in votes] == [
        (r["annotator"], r["path"], r["label"], r["time"]) for r in exported
    ]
    decisions = {r["path"]: r for r in _rows((out / "decisions.csv").read_text("utf-8"))}
    dropped = decisions["dog/0000.png"]
    assert (dropped["lead"], dropped["lead_label"], dropped["lead_note"]) == (
        "lee",
        "drop",
        "accepted test",
    )
    assert dropped["votes"] == "2" and dropped["consensus_method"]  # owl and drop: no unsure
    assert dropped["left_out"] == "dropped_by_lead" and dropped["final_label"] == ""
    assert decisions["cat/0000.png"]["votes"] == "1"  # ann's owl; cyd's unsure abstains
    assert "cat/0001.png" not in decisions  # review never touched it
    prov = json.loads((out / PROVENANCE).read_text(encoding="utf-8"))
    assert {"votes.csv", "decisions.csv"} <= set(prov["sha256"])
    run_cli("export", p, "--out", out, "--format", "imagefolder,csv", "--force", check=True)

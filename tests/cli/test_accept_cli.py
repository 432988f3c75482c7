"""``labelaudit accept``: the app's Accept on the CLI, through the installed command, on both
stores. What it records must be what the app's A key would record for the same images
(``core/views/lead_queue.py accept_picks``), in one transaction, and bad input writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from helpers import assert_one_error_line, make_tree, run_cli
from labelaudit.core.consensus import annotators as reg
from labelaudit.core.consensus.votes import cast_vote
from labelaudit.core.project import Project
from labelaudit.core.store.schema import annotators, audit_log, classes, decisions, images
from labelaudit.core.views import STATE_CODE, load_review_data
from labelaudit.core.views.lead_queue import accept_picks, pick_decision
from review_helpers import ids_by_path, store_scan

# ann, bob, cyd vote; lee leads. A tie, drop against two class votes, two 2-1 splits the
# target accuracy of 1 sends to the lead, and one unanimous image (settled, not the lead's).
VOTES = {
    "cat/0000.png": ("cat", "dog", "owl"),
    "dog/0000.png": ("dog", "dog", "drop"),
    "owl/0000.png": ("owl", "owl", "cat"),
    "cat/0001.png": ("cat", "dog", "cat"),
    "owl/0001.png": ("owl", "owl", "owl"),
    "dog/0001.png": ("unsure", "unsure", "unsure"),
    "cat/0002.png": ("dog", "dog", "cat"),
}


def _build(project_dir: Path, image_root: Path, db_url: str | None) -> Path:
    """A project whose votes leave images waiting for the lead, with a finished scan whose
    model says dog for the tie and the given class elsewhere."""
    proj = Project.create(project_dir, image_root, db_url=db_url)
    try:
        proj.import_images(workers=1)
        ids = ids_by_path(proj)
        paths = sorted(ids, key=ids.get)  # catalog order = id order
        probs = np.full((len(ids), 3), 0.1, dtype=np.float32)
        for i, path in enumerate(paths):
            probs[i, ["cat", "dog", "owl"].index(path.split("/")[0])] = 0.8
        probs[paths.index("cat/0000.png")] = (0.1, 0.8, 0.1)
        probs[paths.index("cat/0002.png")] = (0.98, 0.01, 0.01)
        store_scan(proj, flagged=np.array([p in VOTES for p in paths]), pred_probs=probs)
        for name in ("ann", "bob", "cyd"):
            reg.add_annotator(proj.store, name)
        reg.add_annotator(proj.store, "lee", role="lead")
        proj.set_setting("votes_required", "3")
        for path, cast in VOTES.items():
            for who, decision in zip(("ann", "bob", "cyd"), cast, strict=True):
                cast_vote(
                    proj.store,
                    annotator=who,
                    image_id=ids[path],
                    decision=decision,
                    suggestion_shown=False,
                )
    finally:
        proj.close()
    return project_dir


@pytest.fixture
def project_dir(tmp_path: Path, tiny_tree: Path, backend: str | None) -> Path:
    return _build(tmp_path / "proj", tiny_tree, backend)


@pytest.fixture(scope="module")
def shared_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite project for the error cases (which must leave it unchanged)."""
    base = tmp_path_factory.mktemp("accept-errors")
    root = make_tree(base / "images", {"cat": 4, "dog": 2, "owl": 2})
    return _build(base / "proj", root, None)


def _app_picks(project_dir: Path) -> dict[str, str]:
    """path -> decision that the app's Accept proposes for every image waiting for the lead
    (the grid's data and ``accept_picks``, as the app computes them)."""
    with Project.open(project_dir) as project:
        lee = reg.get_annotator(project.store, "lee").id
        data = load_review_data(project.store, annotator_id=lee)
    pick, _ = accept_picks(data)
    out = {}
    for r in np.flatnonzero(data.state == STATE_CODE["needs_lead"]):
        decision = pick_decision(int(pick[r]), data.class_names)
        if decision is not None:
            out[data.path(int(r))] = str(decision)
    return out


def _decisions(project_dir: Path) -> dict[str, tuple[str, str, str]]:
    """path -> (lead, decision, note) of every stored decision."""
    query = sa.select(
        images.c.path, annotators.c.name, decisions.c.kind, classes.c.name, decisions.c.note
    ).select_from(
        decisions.join(images, decisions.c.image_id == images.c.id)
        .join(annotators, decisions.c.lead_id == annotators.c.id)
        .outerjoin(classes, decisions.c.class_id == classes.c.id)
    )
    with Project.open(project_dir) as project, project.store.read() as conn:
        rows = conn.execute(query).all()
    return {path: (lead, cls or kind, note) for path, lead, kind, cls, note in rows}


def _count(project_dir: Path, table: sa.Table) -> int:
    with Project.open(project_dir) as project, project.store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def test_accept_all_records_what_the_app_would(project_dir: Path) -> None:
    p = project_dir
    expected = _app_picks(p)
    assert len(expected) >= 3 and "owl/0001.png" not in expected  # settled: not the lead's
    before = _count(p, audit_log)
    dry = json.loads(
        run_cli("accept", p, "--lead", "lee", "--all", "--dry-run", "--json", check=True).stdout
    )
    assert dry["dry_run"] is True and dry["decided"] == 0
    assert {row["path"]: row["decision"] for row in dry["images"]} == expected
    assert all(row["confidence"] is None or 0 <= row["confidence"] <= 1 for row in dry["images"])
    listed = run_cli("accept", p, "--lead", "lee", "--all", "--dry-run", check=True).stdout
    lines = listed.splitlines()
    assert len(lines) == len(expected) + 1 and lines[-1].startswith(
        f"lee would decide {len(expected)} images"
    )
    assert lines[0].split("\t")[0] in expected
    assert (_count(p, decisions), _count(p, audit_log)) == (0, before)  # nothing written

    done = run_cli("accept", p, "--lead", "lee", "--all", check=True).stdout
    assert done.startswith(f"lee decided {len(expected)} images (")
    stored = _decisions(p)
    assert {path: d for path, (_, d, _) in stored.items()} == expected
    sources = {row["path"]: row["source"] for row in dry["images"]}
    assert all(note == f"accepted {sources[path]}" for path, (_, _, note) in stored.items())
    assert {lead for lead, _, _ in stored.values()} == {"lee"}
    assert stored["dog/0000.png"][2].startswith("accepted consensus (")  # dog against a drop
    with Project.open(p) as project:
        data = load_review_data(project.store)
    assert not (data.state == STATE_CODE["needs_lead"]).any()

    again = run_cli("accept", p, "--lead", "lee", "--all", check=True).stdout
    assert again.startswith("nothing to accept")
    assert _count(p, decisions) == len(expected)


def test_named_images_and_min_confidence(tmp_path: Path, tiny_tree: Path) -> None:
    """Named images (each once, however typed) are accepted as named and nothing else;
    --min-confidence leaves out the proposals estimated less likely right."""
    p = _build(tmp_path / "proj", tiny_tree, None)
    expected = _app_picks(p)
    typed = ["cat/0001.png", str(tiny_tree / "cat" / "0001.png"), "dog/0001.png"]
    out = run_cli("accept", p, "--lead", "lee", *typed, check=True).stdout
    assert out == "lee decided 2 images (1 consensus (crowdlab), 1 model's pick)\n"
    stored = _decisions(p)
    assert {path: d for path, (_, d, _) in stored.items()} == {
        path: expected[path] for path in ("cat/0001.png", "dog/0001.png")
    }
    assert stored["dog/0001.png"][2] == "accepted model's pick"  # only unsure votes

    plan = json.loads(
        run_cli("accept", p, "--lead", "lee", "--all", "--dry-run", "--json", check=True).stdout
    )
    sure = {row["path"]: row["confidence"] for row in plan["images"]}
    assert set(sure) == set(expected) - {"cat/0001.png", "dog/0001.png"}
    high = {path for path, c in sure.items() if c is not None and c >= 0.9}
    assert high and high != set(sure)  # the data has proposals on both sides of 0.9
    out = run_cli("accept", p, "--lead", "lee", "--all", "--min-confidence", "0.9", check=True)
    low = len(sure) - len(high)
    assert out.stdout.endswith(f"; {low} below --min-confidence skipped\n")
    assert set(_decisions(p)) == high | {"cat/0001.png", "dog/0001.png"}


def test_waiting_without_a_proposal(tmp_path: Path) -> None:
    """No scan and only unsure votes: the image waits for the lead with nothing to accept."""
    root = make_tree(tmp_path / "images", {"cat": 2, "dog": 1})
    p = tmp_path / "proj"
    run_cli("init", p, "--images", root, check=True)
    for name, role in (("ann", "annotator"), ("bob", "annotator"), ("lee", "lead")):
        run_cli("annotators", "add", p, name, "--role", role, check=True)
    for who in ("ann", "bob"):
        run_cli("vote", p, "--annotator", who, "cat/0000.png", "unsure", check=True)
    assert_one_error_line(
        run_cli("accept", p, "--lead", "lee", "cat/0000.png"), contains="has nothing to accept"
    )
    out = run_cli("accept", p, "--lead", "lee", "--all", check=True).stdout
    assert out.startswith("nothing to accept") and "1 waiting without a proposal skipped" in out
    assert _count(p, decisions) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lead", "ann", "--all"], "ann is not a lead"),
        (["--lead", "ann", "--all", "--dry-run"], "ann is not a lead"),
        (["--lead", "zed", "cat/0000.png"], "unknown annotator"),
        (["--lead", "lee"], "not neither"),
        (["--lead", "lee", "cat/0000.png", "--all"], "not both"),
        (["--lead", "lee", "cat/nope.png"], "no image 'cat/nope.png'"),
        (["--lead", "lee", "cat/0000.png", "cat/nope.png"], "no image 'cat/nope.png'"),
        (["--lead", "lee", "owl/0001.png"], "does not wait for the lead (state: agreed)"),
        (
            ["--lead", "lee", "cat/0000.png", "owl/0001.png", "cat/0003.png"],
            "owl/0001.png does not wait for the lead (state: agreed); and 1 more",
        ),
        (["--lead", "lee", "cat/0000.png", "--min-confidence", "0.5"], "goes with --all"),
        (["--lead", "lee", "--all", "--min-confidence", "2"], "a probability in [0, 1]"),
        (["--lead", "lee", "--all", "--min-confidence", "nan"], "a probability in [0, 1]"),
    ],
)
def test_bad_input_is_one_line_and_decides_nothing(
    shared_project: Path, args: list[str], message: str
) -> None:
    before = _count(shared_project, audit_log)
    proc = run_cli("accept", shared_project, *args)
    assert_one_error_line(proc, contains=message)
    assert proc.returncode == 2
    assert (_count(shared_project, decisions), _count(shared_project, audit_log)) == (0, before)

"""The lead's queue in the core: vote splits (blind-checked), who voted what, the pick a lead
accepts, the risk order, and Accept as one undo step, on both store backends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from labelaudit.core.commands import AcceptCommand, UndoStack
from labelaudit.core.consensus import annotators as reg
from labelaudit.core.consensus.votes import cast_vote
from labelaudit.core.project import Project
from labelaudit.core.views import STATE_CODE, load_review_data, shown_states
from labelaudit.core.views.grid import GridView
from labelaudit.core.views.lead_queue import (
    PICK_CONSENSUS,
    PICK_EVIDENCE,
    PICK_METHOD,
    PICK_MODEL,
    accept_confidence,
    accept_picks,
    lead_reason,
    next_in_queue,
    pick_decision,
    queue_key,
    vote_split,
    voters,
)
from review_helpers import ids_by_path, store_scan

TIE = "cat/0001.png"  # ann cat, bob dog, cyd owl: a tie, no consensus
DROP_VS = "dog/0001.png"  # ann dog, bob dog, cyd drop: the consensus dog, the lead decides
UNANIMOUS = "owl/0001.png"  # all three owl


@pytest.fixture
def project(tmp_path: Path, tiny_tree: Path, backend: str | None) -> Iterator[Project]:
    proj = Project.create(tmp_path / "proj", tiny_tree, db_url=backend)
    proj.import_images(workers=1)
    ids = ids_by_path(proj)
    flagged = np.zeros(len(ids), dtype=bool)
    probs = np.full((len(ids), 3), 0.1, dtype=np.float32)
    for i, path in enumerate(sorted(ids, key=ids.get)):  # catalog order = id order
        flagged[i] = path in (TIE, DROP_VS, UNANIMOUS)
        probs[i, ["cat", "dog", "owl"].index("dog" if path == TIE else path.split("/")[0])] = 0.8
    store_scan(proj, flagged=flagged, pred_probs=probs)
    for name in ("ann", "bob", "cyd"):
        reg.add_annotator(proj.store, name)
    reg.add_annotator(proj.store, "lee", role="lead")
    proj.set_setting("votes_required", "3")
    votes = {TIE: ("cat", "dog", "owl"), DROP_VS: ("dog", "dog", "drop"), UNANIMOUS: ("owl",) * 3}
    for path, decisions in votes.items():
        for who, decision in zip(("ann", "bob", "cyd"), decisions, strict=True):
            cast_vote(
                proj.store,
                annotator=who,
                image_id=ids[path],
                decision=decision,
                suggestion_shown=False,
            )
    yield proj
    proj.close()


def _who(project: Project, name: str) -> int:
    return reg.get_annotator(project.store, name).id


def _row(data, path: str) -> int:  # type: ignore[no-untyped-def]
    return [data.path(r) for r in range(data.n)].index(path)


def test_split_names_and_blind_rule(project: Project) -> None:
    lead = load_review_data(project.store, annotator_id=_who(project, "lee"))
    assert lead_reason(lead, _row(lead, TIE)) == "tie"
    assert lead_reason(lead, _row(lead, "cat/0002.png")) == ""
    reg.add_annotator(project.store, "dan")  # has voted on nothing: blind review hides all
    split = vote_split(lead, viewer_id=_who(project, "lee"))
    assert split.text(_row(lead, TIE)) == "1–1–1"
    assert split.text(_row(lead, DROP_VS)) == "2–1"
    assert split.text(_row(lead, UNANIMOUS)) == "3–0"
    assert split.text(_row(lead, "cat/0002.png")) == ""  # no votes
    assert voters(lead, _row(lead, TIE), viewer_id=_who(project, "lee")) == [
        ("ann", "cat"),
        ("bob", "dog"),
        ("cyd", "owl"),
    ]
    dan = load_review_data(project.store, annotator_id=_who(project, "dan"))
    hidden = vote_split(dan, viewer_id=_who(project, "dan"))
    assert not hidden.visible.any() and hidden.text(_row(dan, DROP_VS)) == ""
    assert voters(dan, _row(dan, TIE), viewer_id=_who(project, "dan")) is None
    ann = load_review_data(project.store, annotator_id=_who(project, "ann"))
    assert vote_split(ann, viewer_id=_who(project, "ann")).text(_row(ann, DROP_VS)) == "2–1"
    assert vote_split(ann, viewer_id=None).text(_row(ann, DROP_VS)) == ""  # nobody working
    project.set_setting("blind", "false")
    dan = load_review_data(project.store, annotator_id=_who(project, "dan"))
    assert vote_split(dan, viewer_id=_who(project, "dan")).text(_row(dan, DROP_VS)) == "2–1"


def test_picks_risk_order_and_accept_as_one_undo_step(project: Project) -> None:
    lee = _who(project, "lee")
    data = load_review_data(project.store, annotator_id=lee)
    tie, drop_vs = _row(data, TIE), _row(data, DROP_VS)
    assert data.state[tie] == data.state[drop_vs] == STATE_CODE["needs_lead"]
    pick, source = accept_picks(data)
    assert (pick[drop_vs], source[drop_vs]) == (1, PICK_CONSENSUS)  # dog, the consensus
    # No consensus: the method's pick where it breaks the tie (CROWDLAB follows the model),
    # else the model's; both say dog.
    assert pick[tie] == 1 and source[tie] in (PICK_METHOD, PICK_MODEL)
    shown = shown_states(data, blind=True, is_lead=True)
    key = queue_key(data, shown, is_lead=True)
    assert key[tie] < key[drop_vs] < 0  # the tie is the likelier to be wrong: first
    view = GridView(rows=np.arange(data.n), class_offsets=np.array([0, data.n]))
    wanted = shown == shown[tie]
    assert next_in_queue(view, wanted, key, -1) == tie
    assert next_in_queue(view, wanted, key, tie) == drop_vs
    assert next_in_queue(view, wanted, key, drop_vs) == tie  # wraps around
    picks = [
        (int(data.image_ids[r]), pick_decision(int(pick[r]), data.class_names), "test")
        for r in (tie, drop_vs)
    ]
    stack = UndoStack()
    stack.push(AcceptCommand(project.store, lead="lee", picks=picks))  # type: ignore[arg-type]
    after = load_review_data(project.store, annotator_id=lee)
    assert after.state[tie] == after.state[drop_vs] == STATE_CODE["resolved"]
    stack.undo()
    again = load_review_data(project.store, annotator_id=lee)
    assert again.state[tie] == again.state[drop_vs] == STATE_CODE["needs_lead"]
    assert not stack.can_undo
    with pytest.raises(Exception, match="lead"):
        AcceptCommand(project.store, lead="ann", picks=picks).do()  # type: ignore[arg-type]


def test_accept_takes_the_evidence_s_label_where_the_consensus_is_probably_wrong(
    project: Project,
) -> None:
    """A consensus that the evidence (votes, annotator quality, model) rates as probably wrong
    is not what Accept proposes: the evidence's most likely class is, with its probability."""
    data = load_review_data(project.store, annotator_id=_who(project, "lee"))
    drop_vs = _row(data, DROP_VS)
    assert accept_picks(data)[0][drop_vs] == 1  # dog, the consensus
    review = data.review
    assert review is not None
    at = int(np.flatnonzero(review.image_ids == data.image_ids[drop_vs])[0])
    best_label, best_p, p_right = (
        review.best_label.copy(),
        review.best_p.copy(),
        review.p_right.copy(),
    )
    best_label[at], best_p[at], p_right[at] = 2, 0.9, 0.05  # owl at 90%, dog at 5%
    data.review = replace(review, best_label=best_label, best_p=best_p, p_right=p_right)
    pick, source = accept_picks(data)
    assert (pick[drop_vs], source[drop_vs]) == (2, PICK_EVIDENCE)
    assert accept_confidence(data)[drop_vs] == pytest.approx(0.9)
    p_right[at] = 0.95  # the consensus is the better bet again
    data.review = replace(review, best_label=best_label, best_p=best_p, p_right=p_right)
    assert accept_picks(data)[1][drop_vs] == PICK_CONSENSUS
    assert accept_confidence(data)[drop_vs] == pytest.approx(0.95)

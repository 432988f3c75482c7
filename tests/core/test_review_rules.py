"""The review rules of ``core/consensus/rules.py`` on both store backends: blind visibility (every
view reads one rule), only leads decide, the team-size rule, routing by target accuracy, the
default method, and the undoable "add to review" command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from labelaudit.core import issues_types as it
from labelaudit.core import settings as settings_mod
from labelaudit.core.codes import ReviewState
from labelaudit.core.commands import AddToReviewCommand, UndoStack
from labelaudit.core.consensus import annotators as reg
from labelaudit.core.consensus import rules
from labelaudit.core.consensus.matrix import VoteMatrix
from labelaudit.core.consensus.methods import choose_method
from labelaudit.core.consensus.outcome import build_review, review_agreement
from labelaudit.core.consensus.resolution import resolve
from labelaudit.core.consensus.votes import cast_vote
from labelaudit.core.errors import InputError
from labelaudit.core.project import Project
from review_helpers import ids_by_path, store_scan


@pytest.fixture
def team(tmp_path: Path, tiny_tree: Path, backend: str | None) -> Iterator[Project]:
    """A team of two (ana, bob) and a lead, the default votes_required (3), a scan flagging all."""
    proj = Project.create(tmp_path / "proj", tiny_tree, db_url=backend)
    proj.import_images(workers=1)
    for name in ("ana", "bob"):
        reg.add_annotator(proj.store, name)
    reg.add_annotator(proj.store, "lee", role="lead")
    store_scan(proj, flagged=np.ones(len(ids_by_path(proj)), dtype=bool))
    yield proj
    proj.close()


def _vote(project: Project, who: str, image_id: int, decision: str) -> None:
    cast_vote(
        project.store, annotator=who, image_id=image_id, decision=decision, suggestion_shown=False
    )


def _at(review, image_id: int) -> int:  # type: ignore[no-untyped-def]
    return int(np.flatnonzero(review.image_ids == image_id)[0])


def test_team_of_two_settles_what_both_agree_on(team: Project) -> None:
    ids = ids_by_path(team)
    people = reg.list_annotators(team.store)
    assert rules.votes_needed(team.settings(), people) == 2  # 3 capped to the team
    warning = rules.team_warning(3, people)
    assert warning is not None and "team has 2 annotators" in warning
    assert rules.team_warning(2, people) is None
    agreed, split = ids["cat/0000.png"], ids["cat/0001.png"]
    for who in ("ana", "bob"):
        _vote(team, who, agreed, "keep")
    _vote(team, "ana", split, "keep")
    review = build_review(team.store)
    assert review.state[_at(review, split)] == it.NEEDS_VOTES  # bob has not voted
    _vote(team, "bob", split, "owl")
    review = build_review(team.store)
    assert review.result.method == "crowdlab" and review.required == 2
    assert review.state[_at(review, agreed)] == it.AGREED  # not "no annotator left"
    assert review.p_right[_at(review, agreed)] >= 0.98
    assert review.state[_at(review, split)] == it.NEEDS_LEAD  # nobody left to break the tie
    assert review.lead_reason[_at(review, split)] == "tie"
    assert rules.lead_queue(review).tolist()[0] == split


def test_only_leads_decide(team: Project) -> None:
    ids = ids_by_path(team)
    people = {a.name: a for a in reg.list_annotators(team.store)}
    assert rules.may_resolve(people["lee"]) and not rules.may_resolve(people["ana"])
    assert not rules.may_resolve(None)
    assert rules.lead_resolves(people["lee"], it.NEEDS_LEAD)
    assert rules.lead_resolves(people["lee"], int(ReviewState.NEEDS_LEAD))
    assert not rules.lead_resolves(people["lee"], it.NEEDS_VOTES)
    assert not rules.lead_resolves(people["ana"], it.NEEDS_LEAD)
    with pytest.raises(InputError):
        resolve(team.store, lead="ana", image_id=ids["cat/0000.png"], decision="owl")


def test_blind_visibility_is_one_rule(team: Project) -> None:
    ids = ids_by_path(team)
    image = ids["cat/0002.png"]
    _vote(team, "bob", image, "owl")
    people = {a.name: a for a in reg.list_annotators(team.store)}
    review = build_review(team.store)
    pos = _at(review, image)
    assert not rules.visible_to(review, people["ana"].id)[pos]
    assert rules.visible_to(review, people["lee"].id)[pos]  # a lead sees everything
    assert rules.visible_to(review, None).all()  # the CLI without --as
    assert not rules.visible_to_person(review, None)[pos]  # the app, nobody chosen
    _, report = review_agreement(review, visible=rules.visible_to_person(review, people["ana"]))
    assert report["project"]["votes"] == 0  # the Agreement tab's figures: nothing to see
    assert all(p["quality"] is None for p in report["annotators"])
    _vote(team, "ana", image, "cat")
    review = build_review(team.store)
    assert rules.visible_to(review, people["ana"].id)[pos]
    _, report = review_agreement(review, visible=rules.visible_to_person(review, people["ana"]))
    assert report["project"]["votes"] == 2
    team.set_setting("blind", "false")
    review = build_review(team.store)
    assert rules.visible_to_person(review, None).all()
    voted = np.array([False, True])
    assert rules.reveals(voted, blind=True, is_lead=False).tolist() == [False, True]
    assert rules.reveals(voted, blind=True, is_lead=True).all()


def test_add_to_review_is_one_undo_step(team: Project) -> None:
    ids = ids_by_path(team)
    stack = UndoStack()
    image = ids["dog/0000.png"]
    # a fresh scan that flags nothing: only the request puts the image into review
    store_scan(team, flagged=np.zeros(len(ids), dtype=bool))
    command = AddToReviewCommand(team.store, lead="lee", image_ids=[image])
    stack.push(command)
    review = build_review(team.store)
    assert command.added == [image] and review.in_review[_at(review, image)]
    stack.undo()
    review = build_review(team.store)
    assert not review.in_review[_at(review, image)]
    stack.redo()
    assert build_review(team.store).in_review[_at(review, image)]
    with pytest.raises(InputError):
        UndoStack().push(AddToReviewCommand(team.store, lead="ana", image_ids=[image]))


def test_default_method_and_bad_input(team: Project) -> None:
    votes = VoteMatrix(
        item=np.repeat(np.arange(30), 2),
        annotator=np.tile([0, 1], 30),
        value=np.zeros(60, dtype=np.int64),
        n_items=30,
        n_annotators=2,
        n_classes=2,
    )
    assert choose_method(None, has_scan=True, votes=votes) == "crowdlab"
    assert choose_method("auto", has_scan=False, votes=votes) == "dawid-skene"
    few = VoteMatrix(votes.item[:4], votes.annotator[:4], votes.value[:4], 30, 2, 2)
    assert choose_method(None, has_scan=False, votes=few) == "majority"
    assert choose_method("majority", has_scan=True, votes=votes) == "majority"
    with pytest.raises(InputError, match="unknown consensus method"):
        build_review(team.store, method="vote-counting")
    for bad in ("0", "1.5", "-0.1", "nan", "high"):
        with pytest.raises(InputError, match=r"target_accuracy: expected a number in \(0, 1\]"):
            settings_mod.parse("target_accuracy", bad)
    assert settings_mod.parse("target_accuracy", "1") == 1.0

"""Votes, lead decisions, image states, queues and outcomes on both store backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from labelaudit.core import issues_types as it
from labelaudit.core.commands import BulkVoteCommand, ResolveCommand, UndoStack, VoteCommand
from labelaudit.core.consensus import annotators as reg
from labelaudit.core.consensus.outcome import build_review, review_outcomes, run_consensus
from labelaudit.core.consensus.resolution import resolve
from labelaudit.core.consensus.review_add import add_to_review
from labelaudit.core.consensus.states import annotator_queue, lead_queue, visible_to
from labelaudit.core.consensus.votes import cast_vote, retract_vote
from labelaudit.core.errors import InputError
from labelaudit.core.project import Project
from labelaudit.core.store.arrays import get_array
from labelaudit.core.store.schema import audit_log, consensus_runs, decisions, votes
from review_helpers import ids_by_path, store_scan


@pytest.fixture
def project(tmp_path: Path, tiny_tree: Path, backend: str | None) -> Iterator[Project]:
    (tiny_tree / "owl" / "broken.png").write_text("not an image")
    proj = Project.create(tmp_path / "proj", tiny_tree, db_url=backend)
    proj.import_images(workers=1)
    for name in ("ann", "bob", "cyd", "dee"):
        reg.add_annotator(proj.store, name)
    reg.add_annotator(proj.store, "lee", role="lead")
    yield proj
    proj.close()


def _count(project: Project, table: sa.Table) -> int:
    with project.store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def _state(project: Project, image_id: int, **kw: str) -> str:
    out = review_outcomes(project.store, **kw)
    return str(out.state[np.flatnonzero(out.image_ids == image_id)[0]])


def _vote(project: Project, who: str, image_id: int, decision: str) -> str:
    return cast_vote(
        project.store, annotator=who, image_id=image_id, decision=decision, suggestion_shown=False
    ).vote_id


def test_annotator_registry(project: Project) -> None:
    again = reg.add_annotator(project.store, " ann ")
    assert again.name == "ann" and again.role == "annotator"
    promoted = reg.add_annotator(project.store, "ann", role="lead")
    assert promoted.is_lead and promoted.id == again.id
    assert [a.name for a in reg.list_annotators(project.store)] == [
        "ann",
        "bob",
        "cyd",
        "dee",
        "lee",
    ]
    with pytest.raises(InputError, match="unknown annotator"):
        reg.get_annotator(project.store, "zed")
    with pytest.raises(InputError, match="unknown role"):
        reg.add_annotator(project.store, "zed", role="boss")
    with pytest.raises(InputError, match="empty"):
        reg.add_annotator(project.store, "  ")
    with project.store.read() as conn:
        actions = list(conn.execute(sa.select(audit_log.c.action, audit_log.c.target)))
    assert ("annotator_add", "lee") in actions and ("annotator_role", "ann") in actions


def test_vote_replaces_current_and_keeps_history(project: Project) -> None:
    image = ids_by_path(project)["cat/0000.png"]
    keep = cast_vote(
        project.store, annotator="ann", image_id=image, decision="keep", suggestion_shown=True
    )
    assert (keep.kind, keep.class_name, keep.is_keep) == ("label", "cat", True)
    named = cast_vote(
        project.store, annotator="ann", image_id=image, decision="cat", suggestion_shown=False
    )
    assert named.is_keep  # naming the given class is keep
    relabel = _vote(project, "ann", image, "dog")
    data = build_review(project.store).data
    assert len(data.votes) == 1 and data.votes.labels[0] == 1  # dog is current
    assert _count(project, votes) == 3  # history kept
    retract_vote(project.store, annotator="ann", vote_id=relabel)
    data = build_review(project.store).data
    assert data.votes.labels.tolist() == [0] and data.votes.is_keep.tolist() == [True]
    retract_vote(project.store, annotator="ann", vote_id=relabel)  # twice: nothing more
    assert _count(project, votes) == 4
    with pytest.raises(InputError, match="someone else"):
        retract_vote(project.store, annotator="bob", vote_id=keep.vote_id)
    with project.store.read() as conn:
        rows = conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.os_user, audit_log.c.target).where(
                audit_log.c.action == "vote"
            )
        ).all()
    assert len(rows) == 3 and {r.actor for r in rows} == {"ann"}
    assert all(r.target == "cat/0000.png" and r.os_user for r in rows)
    with project.store.read() as conn:
        retracted = conn.execute(
            sa.select(audit_log.c.target).where(audit_log.c.action == "retract_vote")
        ).scalars()
        assert list(retracted) == ["cat/0000.png"]  # the path, not the image id


def test_vote_id_makes_a_retry_idempotent(project: Project) -> None:
    image = ids_by_path(project)["dog/0001.png"]
    vote_id = "0b5f2a5e-35a1-4f51-9e5f-1f6f3b0d9c11"
    first = cast_vote(
        project.store,
        annotator="bob",
        image_id=image,
        decision="drop",
        vote_id=vote_id,
        suggestion_shown=False,
    )
    again = cast_vote(
        project.store,
        annotator="bob",
        image_id=image,
        decision="drop",
        vote_id=vote_id,
        suggestion_shown=False,
    )
    assert first.created and not again.created and _count(project, votes) == 1
    before = (_count(project, votes), _count(project, audit_log))
    for decision in ("dog", "unsure"):  # the same id, annotator and image, another decision
        with pytest.raises(InputError, match="already stored with another decision"):
            cast_vote(
                project.store,
                annotator="bob",
                image_id=image,
                decision=decision,
                vote_id=vote_id,
                suggestion_shown=False,
            )
    assert (_count(project, votes), _count(project, audit_log)) == before
    with pytest.raises(InputError, match="already used"):
        cast_vote(
            project.store,
            annotator="cyd",
            image_id=image,
            decision="drop",
            vote_id=vote_id,
            suggestion_shown=False,
        )


@pytest.mark.parametrize(
    ("who", "path", "decision", "message"),
    [
        ("zed", "cat/0000.png", "keep", "unknown annotator"),
        ("ann", "cat/0000.png", "lion", "unknown class"),
        ("ann", "owl/broken.png", "drop", "broken"),
        ("ann", None, "keep", "unknown image"),
    ],
)
def test_bad_votes_write_nothing(
    project: Project, who: str, path: str | None, decision: str, message: str
) -> None:
    image = ids_by_path(project)[path] if path else 10_000
    before = (_count(project, votes), _count(project, audit_log))
    with pytest.raises(InputError, match=message):
        _vote(project, who, image, decision)
    assert (_count(project, votes), _count(project, audit_log)) == before


def test_states_from_votes_to_lead(project: Project) -> None:
    ids = ids_by_path(project)
    flagged = np.isin(sorted(ids.values()), [ids[p] for p in ("cat/0000.png", "cat/0001.png")])
    store_scan(project, flagged=flagged)
    project.set_setting("votes_required", "2")
    a, b, c = ids["cat/0000.png"], ids["cat/0001.png"], ids["dog/0000.png"]
    assert _state(project, a) == it.NEEDS_VOTES and _state(project, c) == it.UNFLAGGED
    _vote(project, "ann", a, "keep")
    out = review_outcomes(project.store)
    row = np.flatnonzero(out.image_ids == a)[0]
    assert out.state[row] == it.NEEDS_VOTES and out.n_votes[row] == 1
    _vote(project, "bob", a, "dog")
    review = build_review(project.store)
    pos = int(np.flatnonzero(review.image_ids == a)[0])
    # a tie while cyd and dee have not voted: one more vote, not the lead (rules.route)
    assert (review.state[pos], review.lead_reason[pos]) == (it.NEEDS_VOTES, "one more vote")
    project.set_setting("target_accuracy", "0.6")  # the small test panel is no evidence of 98%
    project.set_setting("min_agreement", "2/3")  # the override still applies when set
    _vote(project, "cyd", a, "cat")
    assert _state(project, a) == it.AGREED  # 2 of 3 = min_agreement 2/3 exactly
    _vote(project, "ann", b, "drop")
    _vote(project, "bob", b, "drop")
    assert _state(project, b) == it.DROPPED
    _vote(project, "cyd", b, "owl")
    assert _state(project, b) == it.NEEDS_LEAD  # drop votes against a label vote
    _vote(project, "dee", c, "unsure")  # a vote on an unflagged image puts it into review
    assert _state(project, c) == it.NEEDS_VOTES
    assert _state(project, ids["owl/broken.png"]) == it.BROKEN
    review = build_review(project.store)
    assert lead_queue(review).tolist() == [b]
    resolve(project.store, lead="lee", image_id=b, decision="owl", note="an owl")
    resolve(project.store, lead="lee", image_id=a, decision="drop")
    out = review_outcomes(project.store)
    rows = {int(i): k for k, i in enumerate(out.image_ids)}
    assert out.state[rows[b]] == it.RESOLVED and out.final_class[rows[b]] == 2
    assert out.source[rows[b]] == "lead" and not out.dropped[rows[b]]
    assert out.state[rows[a]] == it.DROPPED and out.dropped[rows[a]]
    assert out.source[rows[c]] == "" and out.final_class[rows[c]] == -1


def test_min_agreement_compares_integers(project: Project) -> None:
    ids = ids_by_path(project)
    image = ids["dog/0002.png"]
    for who, what in zip(("ann", "bob", "cyd", "dee"), ("dog", "dog", "dog", "cat"), strict=True):
        _vote(project, who, image, what)
    project.set_setting("min_agreement", "3/4")
    assert _state(project, image) == it.AGREED  # 3 * 4 < 3 * 4 is false
    project.set_setting("min_agreement", "0.76")
    assert _state(project, image) == it.NEEDS_LEAD
    project.set_setting("min_agreement", "1/2")
    project.set_setting("min_consensus_quality", "0.8")
    assert _state(project, image) == it.NEEDS_LEAD  # quality 0.75 below the threshold


def test_only_leads_resolve_and_history_is_kept(project: Project) -> None:
    image = ids_by_path(project)["owl/0001.png"]
    before = (_count(project, decisions), _count(project, audit_log))
    with pytest.raises(InputError, match="not a lead"):
        resolve(project.store, lead="ann", image_id=image, decision="cat")
    with pytest.raises(InputError, match="unknown annotator"):
        resolve(project.store, lead="zed", image_id=image, decision="cat")
    with pytest.raises(InputError, match="not unsure"):
        resolve(project.store, lead="lee", image_id=image, decision="unsure")
    assert (_count(project, decisions), _count(project, audit_log)) == before
    first = resolve(project.store, lead="lee", image_id=image, decision="keep")
    assert first.class_name == "owl" and first.supersedes is None
    stack = UndoStack()
    stack.push(ResolveCommand(project.store, lead="lee", image_id=image, decision="drop"))
    assert _state(project, image) == it.DROPPED
    with project.store.read() as conn:
        second = conn.execute(sa.select(decisions).order_by(decisions.c.seq.desc())).first()
    assert second is not None and second.supersedes == first.decision_id
    stack.undo()  # withdraws the drop: the first decision is current again
    assert _state(project, image) == it.RESOLVED
    with project.store.read() as conn:
        withdrawn = conn.execute(
            sa.select(audit_log.c.target).where(audit_log.c.action == "withdraw_decision")
        ).scalar()
    assert withdrawn == "owl/0001.png"
    stack.redo()
    assert _state(project, image) == it.DROPPED
    assert _count(project, decisions) == 4  # keep, drop, withdrawal, drop again


def test_vote_commands_undo_and_redo(project: Project) -> None:
    ids = ids_by_path(project)
    image = ids["cat/0002.png"]
    stack = UndoStack()
    stack.push(
        VoteCommand(project.store, annotator="ann", image_id=image, decision="dog", note=" hm ")
    )
    stack.push(VoteCommand(project.store, annotator="ann", image_id=image, decision="owl"))
    current = build_review(project.store).data.votes
    assert current.labels.tolist() == [2]
    stack.undo()
    assert build_review(project.store).data.votes.labels.tolist() == [1]
    stack.redo()
    assert build_review(project.store).data.votes.labels.tolist() == [2]
    many = [ids["dog/0000.png"], ids["dog/0001.png"], ids["dog/0002.png"]]
    stack.push(BulkVoteCommand(project.store, annotator="bob", image_ids=many, decision="keep"))
    data = build_review(project.store).data
    assert sorted(data.votes.image_ids[data.votes.annotator_ids == 2].tolist()) == many
    stack.undo()
    data = build_review(project.store).data
    assert not (data.votes.annotator_ids == 2).any()
    with pytest.raises(InputError):  # one bad image: nothing of the bulk vote is stored
        BulkVoteCommand(
            project.store,
            annotator="bob",
            image_ids=[*many, ids["owl/broken.png"]],
            decision="drop",
        ).do()
    assert not (build_review(project.store).data.votes.annotator_ids == 2).any()


def test_queue_most_doubtful_first_and_blind(project: Project) -> None:
    ids = ids_by_path(project)
    order = sorted(ids.values())
    quality = np.linspace(0.9, 0.1, len(order)).astype(np.float32)  # later ids: more doubtful
    flagged = np.isin(order, [ids["cat/0000.png"], ids["dog/0000.png"], ids["owl/0000.png"]])
    store_scan(project, flagged=flagged, label_quality=quality)
    manual = ids["cat/0003.png"]
    with pytest.raises(InputError, match="not a lead"):
        add_to_review(project.store, [manual], lead="ann")
    with pytest.raises(InputError, match="unknown annotator"):
        add_to_review(project.store, [manual], lead="zed")
    assert add_to_review(project.store, [manual], lead="lee") == [manual]
    with project.store.read() as conn:
        actors = conn.execute(
            sa.select(audit_log.c.actor).where(audit_log.c.action == "review_add")
        ).scalars()
        assert list(actors) == ["lee"]
    review = build_review(project.store)
    ann = reg.get_annotator(project.store, "ann").id
    waiting = [manual, ids["owl/0000.png"], ids["dog/0000.png"], ids["cat/0000.png"]]
    expected = sorted(waiting, key=lambda i: quality[order.index(i)])
    assert annotator_queue(review, ann).tolist() == expected
    _vote(project, "bob", ids["owl/0000.png"], "owl")
    _vote(project, "ann", ids["dog/0000.png"], "unsure")
    review = build_review(project.store)
    assert ids["dog/0000.png"] not in annotator_queue(review, ann).tolist()
    pos = {int(i): k for k, i in enumerate(review.image_ids)}
    seen = visible_to(review, ann)
    assert seen[pos[ids["dog/0000.png"]]] and not seen[pos[ids["owl/0000.png"]]]
    assert visible_to(review, reg.get_annotator(project.store, "lee").id).all()
    project.set_setting("blind", "false")
    assert visible_to(build_review(project.store), ann).all()


def test_review_issue_types_setting(project: Project) -> None:
    ids = ids_by_path(project)
    order = sorted(ids.values())
    outlier = np.isin(order, [ids["dog/0003.png"]])
    store_scan(project, flagged=np.zeros(len(order), dtype=bool), outlier=outlier)
    assert _state(project, ids["dog/0003.png"]) == it.UNFLAGGED
    project.set_setting("review_issue_types", "label,outlier")
    assert _state(project, ids["dog/0003.png"]) == it.NEEDS_VOTES


def test_changed_file_makes_votes_stale(project: Project, tiny_tree: Path) -> None:
    from helpers import write_image

    ids = ids_by_path(project)
    image = ids["owl/0002.png"]
    for who in ("ann", "bob", "cyd"):
        _vote(project, who, image, "keep")
    assert _state(project, image) == it.AGREED
    write_image(tiny_tree / "owl" / "0002.png", seed=999)
    project.import_images(workers=1)
    assert _state(project, image) == it.STALE
    review = build_review(project.store)
    assert image in annotator_queue(review, reg.get_annotator(project.store, "ann").id).tolist()
    _vote(project, "ann", image, "owl")
    assert _state(project, image) == it.NEEDS_VOTES


def test_run_consensus_is_stored_and_logged(project: Project) -> None:
    ids = ids_by_path(project)
    for who, what in (("ann", "cat"), ("bob", "cat"), ("cyd", "dog")):
        _vote(project, who, ids["cat/0004.png"], what)
    run = run_consensus(project.store, method="dawid-skene", actor="lee")
    with project.store.read() as conn:
        row = conn.execute(sa.select(consensus_runs)).first()
        stored = get_array(conn, f"consensus:{run.run_id}", "decision")
        image_ids = get_array(conn, f"consensus:{run.run_id}", "image_ids")
        logged = conn.execute(
            sa.select(audit_log.c.actor).where(audit_log.c.action == "consensus_run")
        ).scalar()
    assert row is not None and row.method == "dawid-skene" and logged == "lee"
    assert image_ids is not None and image_ids.tolist() == [ids["cat/0004.png"]]
    assert stored is not None and stored.tolist() == [0]
    assert run.summary["states"][it.AGREED] == 1


def test_image_with_no_annotator_left_goes_to_the_lead(project: Project) -> None:
    """A team of exactly votes_required annotators, one unsure: nobody can add the missing vote."""
    ids = ids_by_path(project)
    order = sorted(ids.values())
    a, b, idle = ids["cat/0001.png"], ids["dog/0001.png"], ids["owl/0003.png"]
    store_scan(project, flagged=np.isin(order, [a, b, idle]))
    project.set_setting("votes_required", "4")  # four non-lead annotators: ann, bob, cyd, dee
    for who in ("ann", "bob", "cyd"):
        _vote(project, who, a, "cat")
    dee = reg.get_annotator(project.store, "dee").id
    review = build_review(project.store)
    assert _state(project, a) == it.NEEDS_VOTES and a in annotator_queue(review, dee).tolist()
    _vote(project, "dee", a, "unsure")
    for who in ("ann", "bob", "cyd", "dee"):  # nobody can bring b to a consensus either
        _vote(project, who, b, "unsure")
    review = build_review(project.store)
    pos = {int(i): k for k, i in enumerate(review.image_ids)}
    # everyone voted on a and the evidence (three agreeing votes + the model) is confident:
    # settled, not sent to the lead (issue 12's team-size rule); b has only unsure votes
    assert review.state[pos[a]] == it.AGREED and review.state[pos[b]] == it.NEEDS_LEAD
    assert review.lead_reason[pos[b]] == "no annotator left"
    assert review.state[pos[idle]] == it.NEEDS_VOTES  # no vote yet: not stuck
    assert review.lead_reason[pos[idle]] == ""
    assert lead_queue(review).tolist() == [b]
    assert all(b not in annotator_queue(review, p.id).tolist() for p in review.data.annotators)
    assert review_outcomes(project.store).needs_lead[pos[b]]
    project.set_setting("target_accuracy", "1")  # nothing is ever certain: a goes to the lead
    review = build_review(project.store)
    assert (review.state[pos[a]], review.lead_reason[pos[a]]) == (
        it.NEEDS_LEAD,
        "no annotator left",
    )
    project.set_setting("target_accuracy", "0.98")
    project.set_setting("votes_required", "1")
    _vote(project, "dee", b, "dog")  # one vote, with the model's weak dog, is not 98% evidence
    assert _state(project, b) == it.NEEDS_LEAD
    project.set_setting("target_accuracy", "0.8")
    assert _state(project, b) == it.AGREED  # ... but enough for an 80% target


def test_crowdlab_notes_votes_cast_with_the_suggestion_shown(project: Project) -> None:
    ids = ids_by_path(project)
    store_scan(project, flagged=np.zeros(len(ids), dtype=bool))
    project.set_setting("votes_required", "2")
    for who, path, what, shown in [
        ("ann", "cat/0000.png", "cat", True),
        ("bob", "cat/0000.png", "cat", False),
        ("ann", "dog/0000.png", "dog", True),
        ("bob", "dog/0000.png", "unsure", True),  # abstains: not a class vote
        ("cyd", "dog/0000.png", "dog", False),
    ]:
        cast_vote(
            project.store, annotator=who, image_id=ids[path], decision=what, suggestion_shown=shown
        )
    notes = review_outcomes(project.store, method="crowdlab").notes
    expected = "2 of 4 votes were cast with the model's suggestion shown: CROWDLAB counts"
    assert any(n.startswith(expected) for n in notes), notes
    assert any("suggestion" in n for n in review_outcomes(project.store).notes)  # the default
    assert not any(
        "suggestion" in n for n in review_outcomes(project.store, method="majority").notes
    )

"""Blind review in the app: the Agreement tab reveals no vote of an image the viewer may not see
(issue 12: it showed other people's per-class vote counts to an annotator who had not voted),
and the grid, the vote list and the tab agree on what is visible (``core/consensus/rules.py``)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("PySide6")

from labelaudit.core.consensus.votes import cast_vote
from labelaudit.core.views import SHOWN


def _ids(project) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from review_helpers import ids_by_path

    return ids_by_path(project)


def _row(window, path: str) -> int:  # type: ignore[no-untyped-def]
    data = window.session.data
    return next(i for i in range(data.n) if data.path(i) == path)


def _tab_text(window) -> str:  # type: ignore[no-untyped-def]
    window.agreement.refresh()
    return str(window.agreement.text.text())


def _votes_of(text: str, name: str) -> int | None:
    """The vote count in the annotators table row of ``name`` (None where the row is absent)."""
    found = re.search(rf"<td align='right'>{name}</td><td align='right'>(\d+)</td>", text)
    return int(found.group(1)) if found else None


def test_agreement_tab_hides_votes_an_annotator_may_not_see(project, make_window) -> None:  # type: ignore[no-untyped-def]
    ids = _ids(project)
    for path in ("cat/0001.png", "cat/0004.png"):
        cast_vote(
            project.store,
            annotator="bob",
            image_id=ids[path],
            decision="owl",
            suggestion_shown=False,
        )
    ann = make_window(project.folder, annotator="ann")
    text = _tab_text(ann)
    assert _votes_of(text, "bob") is None and "owl" not in re.sub(r"<h3>.*?</h3>", "", text)
    shown = ann.session.shown
    assert shown[_row(ann, "cat/0001.png")] != SHOWN["needs lead"]
    assert ann.session.others_votes(_row(ann, "cat/0001.png")) is None
    cast_vote(
        project.store,
        annotator="ann",
        image_id=ids["cat/0001.png"],
        decision="cat",
        suggestion_shown=False,
    )
    ann.session.refresh_review()
    text = _tab_text(ann)
    assert _votes_of(text, "bob") == 1  # the image ann voted on, not the other one
    assert ann.session.others_votes(_row(ann, "cat/0001.png")) == [("bob", "owl", None)]
    lead = make_window(project.folder, annotator="lea")
    assert _votes_of(_tab_text(lead), "bob") == 2  # a lead sees everything


def test_app_says_when_votes_required_exceeds_the_team(project, make_window) -> None:  # type: ignore[no-untyped-def]
    project.set_setting("votes_required", "3")  # the team: ann and bob (the lead is not counted)
    window = make_window(project.folder, annotator="ann")
    said: list[str] = []
    window.session.message.connect(lambda _level, text: said.append(text))
    assert window.session.reload()
    assert any("votes_required is 3 but the team has 2 annotators" in t for t in said), said

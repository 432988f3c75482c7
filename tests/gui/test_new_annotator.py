"""``--annotator NEWNAME`` registers the new name as an annotator, as the README says (issue 10,
item 13): the person at the keyboard names themselves, as in the "Who is working?" dialog."""

from __future__ import annotations

from labelaudit.core.consensus.annotators import list_annotators


def test_a_new_name_is_registered_as_an_annotator(project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="zoe")
    who = window.session.annotator
    assert who is not None and (who.name, who.role) == ("zoe", "annotator")
    assert "registered zoe as a new annotator" in window.message_bar.text
    assert window.windowTitle() == "proj — zoe (annotator) — labelaudit"
    roles = {a.name: a.role for a in list_annotators(project.store)}
    assert roles["zoe"] == "annotator" and roles["lea"] == "lead"


def test_a_known_name_is_not_registered_again(project, make_window) -> None:  # type: ignore[no-untyped-def]
    before = list_annotators(project.store)
    window = make_window(project.folder, annotator="lea")
    assert window.session.is_lead and "registered" not in window.message_bar.text
    assert list_annotators(project.store) == before


def test_an_unusable_name_is_refused_and_nothing_registered(project, make_window) -> None:  # type: ignore[no-untyped-def]
    before = list_annotators(project.store)
    window = make_window(project.folder, annotator="x" * 101)
    assert window.session.annotator is None
    assert "not a usable annotator name" in window.message_bar.text
    assert list_annotators(project.store) == before

"""What the reviewer reads: wrapped votes one per line, the lead's reason and the vote count, the
queue in the status bar, the first image needing me on opening, key hints and marked class
buttons, the lead's "final decision" header, number formats, and the layout at 1000x700."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QStyle, QStyleOptionComboBox
from scans import store_scan

from helpers import make_tree
from labelaudit.core.consensus.annotators import add_annotator
from labelaudit.core.consensus.votes import cast_vote
from labelaudit.core.project import Project
from labelaudit.core.store.schema import images
from labelaudit.gui.widgets.detail_pane import quality_text
from labelaudit.gui.widgets.prob_bars import percent


def row_of(window, path: str) -> int:  # type: ignore[no-untyped-def]
    data = window.session.data
    return next(i for i in range(data.n) if data.path(i) == path)


def image_ids(project) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """relative path -> image id."""
    with project.store.read() as conn:
        rows = conn.execute(sa.select(images.c.id, images.c.path)).all()
    return {path: int(image_id) for image_id, path in rows}


def tie(project, path: str) -> None:  # type: ignore[no-untyped-def]
    """ann and bob disagree on ``path``: the lead decides."""
    for who, decision in (("ann", "dog"), ("bob", "owl")):
        cast_vote(
            project.store,
            annotator=who,
            image_id=image_ids(project)[path],
            decision=decision,
            suggestion_shown=True,
        )


def show(qtbot, window, path: str) -> None:  # type: ignore[no-untyped-def]
    window.session.set_current(row_of(window, path))
    qtbot.waitUntil(lambda: not window.detail.busy, timeout=5000)


def test_a_lead_reads_each_vote_on_its_own_line_and_why_it_waits(  # type: ignore[no-untyped-def]
    qtbot, project, make_window
) -> None:
    tie(project, "cat/0001.png")
    lead = make_window(project.folder, annotator="lea")
    assert lead.session.data.path(lead.session.current_row) == "cat/0001.png"  # waits for me
    show(qtbot, lead, "cat/0001.png")
    detail = lead.detail
    lines = detail.vote_state.text().split("<br>")
    assert lines[:2] == ["needs the lead — tie", "split 1–1"]
    # the default method's annotator quality (CROWDLAB with the scan): ann, with the model, above
    quality = {line[2:5]: float(line.split("quality ")[1][:-1]) for line in lines[-2:]}
    assert lines[-2].startswith("• ann dog (quality ") and lines[-1].startswith("• bob owl (")
    assert quality["ann"] > quality["bob"]
    assert detail.vote_state.wordWrap() and detail.suggested.wordWrap()
    label = detail.vote_state
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()), timeout=3000)
    assert lead.vote_bar.lead_header.isVisibleTo(lead)  # the buttons settle the image
    assert "lead: 1 waiting" in lead.status_label.text()
    assert lead.vote_bar.add_button.isVisibleTo(lead)
    # The File row: facts, with the checksum in its tooltip rather than its text.
    assert "sha256" not in detail.facts.text()
    assert detail.facts.toolTip().startswith("sha256 ") and len(detail.facts.toolTip()) == 71
    show(qtbot, lead, "dog/0002.png")  # needs votes, not the lead
    assert not lead.vote_bar.lead_header.isVisibleTo(lead)


def test_an_annotator_starts_at_the_first_image_needing_a_vote(  # type: ignore[no-untyped-def]
    qtbot, project, make_window
) -> None:
    cast_vote(
        project.store,
        annotator="ann",
        image_id=image_ids(project)["cat/0001.png"],
        decision="owl",
        suggestion_shown=True,
    )
    window = make_window(project.folder, annotator="ann")
    assert window.session.data.path(window.session.current_row) == "cat/0004.png"
    assert "my queue: 2 left" in window.status_label.text()
    assert "lead:" not in window.status_label.text()
    qtbot.waitUntil(lambda: not window.detail.busy, timeout=5000)
    assert "needs votes: 0 of 2" in window.detail.vote_state.text()
    show(qtbot, window, "cat/0001.png")
    text = window.detail.vote_state.text()
    assert "needs votes: 1 of 2" in text and "my vote: owl" in text
    # Lead-only actions are hidden, not disabled; the buttons show their keys.
    bar = window.vote_bar
    assert not bar.add_button.isVisibleTo(window)
    assert not window.actions_.add_review.isVisible()
    assert bar.next_button.isVisibleTo(window) and bar.next_button.text() == "Next needing me (J)"
    assert [b.text() for b in (bar.keep_button, bar.drop_button, bar.unsure_button)] == [
        "Keep (K)",
        "Drop (D)",
        "Unsure (U)",
    ]
    assert "Ctrl+Z" in window.actions_.undo.toolTip()
    assert "Ctrl+Shift+Z" in window.actions_.redo.toolTip()
    # cat/0001: given cat (key 1), suggested dog (key 2), my vote owl (key 3).
    marks = [bar.class_buttons[d].property("marks") for d in (1, 2, 3)]
    assert marks == ["given", "suggested", "my vote"]
    assert "font-weight: bold" in bar.class_buttons[1].styleSheet()
    assert not bar.lead_header.isVisibleTo(window)


@pytest.fixture
def seven_digits(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Seven classes "0".."6", one image each, every one suggested as another class."""
    root = make_tree(tmp_path / "seven", {str(d): 1 for d in range(7)})
    proj = Project.create(tmp_path / "sproj", root)
    proj.import_images()
    store_scan(proj, suggested={f"{d}/0000.png": str((d + 1) % 7) for d in range(7)})
    add_annotator(proj.store, "ann")
    yield proj
    proj.close()


def test_digit_classes_in_five_columns_and_the_given_class_always_has_a_bar(  # type: ignore[no-untyped-def]
    qtbot, seven_digits, make_window
) -> None:
    window = make_window(seven_digits.folder)
    bar = window.vote_bar
    assert [bar.class_buttons[d].text() for d in range(7)] == [str(d) for d in range(7)]
    positions = [
        bar.class_grid.getItemPosition(bar.class_grid.indexOf(b))[:2] for b in bar.class_buttons[:7]
    ]
    assert positions == [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 0), (1, 1)]
    extra_rows = 0
    for d in range(7):
        show(qtbot, window, f"{d}/0000.png")
        names = [name for name, _, _ in window.detail.probs.items]
        roles = dict((name, role) for name, _, role in window.detail.probs.items)
        assert roles[str(d)] == "given"
        extra_rows += len(names) == 6
    assert extra_rows > 0  # some given class was outside the top five and got its row


def test_tiny_and_near_certain_numbers_do_not_round_to_zero_or_certain() -> None:
    assert quality_text(0.0004) == "<0.001" and quality_text(0.0) == "<0.001"
    assert quality_text(0.25) == "0.250" and quality_text(float("nan")) == "—"
    assert percent(0.9996) == ">99.9%" and percent(1.0) == ">99.9%"
    assert percent(0.996) == "99.6%" and percent(0.42) == "42%"


def test_at_1000_by_700_the_sidebar_and_the_filters_fit(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    window.resize(1000, 700)
    qtbot.waitUntil(lambda: window.width() == 1000 and window.height() == 700, timeout=3000)
    qtbot.wait(50)
    assert not window.sidebar.horizontalScrollBar().isVisible()
    assert window.sidebar.horizontalHeader().length() <= window.sidebar.viewport().width()
    bar = window.filter_bar
    for combo in (bar.issue, bar.state, bar.given, bar.suggested):
        option = QStyleOptionComboBox()
        combo.initStyleOption(option)
        field = combo.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, combo
        )
        assert combo.fontMetrics().horizontalAdvance(combo.currentText()) <= field.width()
    assert [c.currentText() for c in (bar.issue, bar.state)] == ["issue: any", "state: any"]

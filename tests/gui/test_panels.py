"""Who is working, the class picker, the summary and agreement panels."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from scans import vote_pairs

from labelaudit.core.consensus.annotators import list_annotators
from labelaudit.gui.dialogs.annotator_dialog import AnnotatorDialog
from labelaudit.gui.dialogs.class_picker import ClassPicker


def test_register_and_remember_who_is_working(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    dialog = AnnotatorDialog(project.store)
    qtbot.addWidget(dialog)
    assert dialog.names.count() == 3
    assert not hasattr(dialog, "role")  # nobody picks their own role here
    assert "--role lead" in dialog.intro.text()  # how leads are made
    qtbot.keyClicks(dialog.new_name, "zoe")
    dialog.register_button.click()
    assert ("zoe", "annotator") in {(a.name, a.role) for a in list_annotators(project.store)}
    assert dialog.names.currentItem().text().startswith("zoe")
    qtbot.keyClicks(dialog.new_name, "lea")  # registering again must not demote the lead
    dialog.register_button.click()
    assert "already registered" in dialog.error.text()
    assert ("lea", "lead") in {(a.name, a.role) for a in list_annotators(project.store)}
    window = make_window(project.folder, annotator="zoe")
    assert window.session.annotator.name == "zoe" and not window.session.is_lead
    assert window.prefs.annotator_for(project.project_id) == "zoe"
    window.close()
    again = make_window(project.folder, annotator=None)  # remembered on this machine
    assert again.session.annotator.name == "zoe"


def test_class_picker_type_ahead(qtbot) -> None:  # type: ignore[no-untyped-def]
    picker = ClassPicker(["airplane", "bird", "cat", "catfish", "dog"])
    qtbot.addWidget(picker)
    qtbot.keyClicks(picker.query, "cat")
    assert picker.matches.count() == 2
    qtbot.keyClick(picker.query, Qt.Key.Key_Down)
    qtbot.keyClick(picker.query, Qt.Key.Key_Return)
    assert picker.chosen == 3


def test_summary_and_agreement(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="lea")
    summary = window.summary
    assert summary.health.text() == ""  # a hidden tab waits until it is shown
    window.tabs.setCurrentWidget(summary)
    assert "Label health score" in summary.health.text() and "90.0%" in summary.health.text()
    assert [row[0] for row in summary.chart.rows] == ["cat", "dog", "owl"]
    window.tabs.setCurrentWidget(window.agreement)
    assert "No votes yet" in window.agreement.text.text()
    data = window.session.data
    # image 0 (cat/0000): two cat votes the scan's model agrees with, so settled (cat/0001, whose
    # model says dog, would not reach the target accuracy and would go to the lead)
    votes = {0: ("cat", "cat"), 4: ("cat", "dog"), 7: ("dog", "dog"), 8: ("dog", "dog")}
    vote_pairs(project.store, data.image_ids, votes)
    assert window.session.poll_changes()
    text = window.agreement.text.text()
    assert "Krippendorff" in text
    cell = "<td align='right'>{}</td>".format
    # Per class: cat and dog got votes, owl none.
    assert "Per class" in text and cell("cat") in text and cell("dog") in text
    assert cell("owl") not in text
    # Annotators: name, votes, agreement with the consensus, quality.
    assert "quality" in text and cell("ann") + cell("4") in text
    # Pairwise Cohen's kappa between ann and bob, over the 4 images both voted on.
    assert "Cohen" in text and "(4)</td>" in text
    assert window.sidebar.class_model.data(window.sidebar.class_model.index(0, 3)) == "1"


def test_drop_a_project_folder_opens_it_and_remembers_it(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    window = make_window()
    assert window.session.project is None
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(project.folder))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    assert window.session.project is not None and window.session.data.n == 15
    assert window.prefs.recent_projects() == [str(project.folder)]
    assert window.recent_menu.actions()[0].text() == str(project.folder)
    assert window.windowTitle() == "proj — ann (annotator) — labelaudit"


def test_hidden_suggestions_hide_the_noise_matrix_from_annotators(  # type: ignore[no-untyped-def]
    qtbot, project, make_window
) -> None:
    project.set_setting("show_suggestion", "false")
    annotator = make_window(project.folder, annotator="ann")
    matrix_tab = annotator.tabs.indexOf(annotator.noise_panel)
    assert not annotator.tabs.isTabEnabled(matrix_tab)
    assert not annotator.filter_bar.suggested.isEnabled()
    lead = make_window(project.folder, annotator="lea")
    assert lead.tabs.isTabEnabled(lead.tabs.indexOf(lead.noise_panel))
    assert lead.filter_bar.suggested.isEnabled()

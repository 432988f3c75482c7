"""Fixes from the visual review: agreement table, summary table, noise matrix axes, tile legend,
sidebar headers."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from scans import vote_pairs

from labelaudit.gui.views.noise_matrix import AXES_CAPTION
from labelaudit.gui.widgets.agreement_panel import report_html


def _vote(project, data, votes: dict[int, tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    vote_pairs(project.store, data.image_ids, votes)


def test_agreement_per_class_counts_scale_and_notes(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="lea")
    window.tabs.setCurrentWidget(window.agreement)
    _vote(project, window.session.data, {1: ("cat", "cat"), 4: ("cat", "dog"), 7: ("dog", "dog")})
    assert window.session.poll_changes()
    text = window.agreement.text.text()
    cell = "<td align='right'>{}</td>".format
    assert "Per class (this class vs the rest)" in text
    assert "≥ 0.8 reliable, 0.667–0.8 tentative, below: unreliable" in text
    assert "estimate" in text and "Agreement with consensus" in text
    # Real per-class counts: cat got 3 votes on 2 images, dog 3 votes on 2 images; not the
    # project's totals (6 votes, 3 images) repeated on every row.
    assert cell("cat") in text and cell("dog") in text
    cat_row = text[text.index(cell("cat")) :].split("</tr>")[0]
    assert cat_row.endswith(cell("2") + cell("3"))
    assert "images 2+ votes" not in text


def test_agreement_rows_without_data_say_too_few_votes() -> None:
    stats = {"krippendorff_alpha": 0.0, "fleiss_kappa": None}
    report = {
        "method": "majority",
        "project": {"krippendorff_alpha": 0.5, "fleiss_kappa": 0.6},
        "per_class": {"seven": stats, "two": {"krippendorff_alpha": 0.8, "fleiss_kappa": 0.9}},
        "annotators": [],
        "cohen_kappa": {"annotators": [], "kappa": [], "shared_items": []},
    }
    text = report_html(report, class_votes={"seven": (1, 1), "two": (4, 2)})
    seven = text[text.index("seven") :].split("</tr>")[0]
    assert "too few votes" in seven and "0.000" not in seven
    two = text[text.index(">two<") :].split("</tr>")[0]
    assert "0.800" in two and "too few votes" not in two


def test_summary_joint_table_fits_and_size_footnote(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="lea")
    summary = window.summary
    window.tabs.setCurrentWidget(summary)
    names = [f"class {i}" for i in range(10)]
    summary._show_joint(np.arange(100).reshape(10, 10) * 1000, names)
    table = summary.joint
    assert table.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    assert table.verticalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    qtbot.waitUntil(lambda: table.verticalHeader().width() > 0)
    qtbot.wait(20)  # one layout pass
    viewport = table.viewport()
    assert table.columnViewportPosition(9) + table.columnWidth(9) <= viewport.width()
    assert table.rowViewportPosition(9) + table.rowHeight(9) <= viewport.height()
    rows = [("cat", 5, 1), ("dog", 5, 1)]
    summary._show_sizes_note({"label_issues": {"by_class": {"cat": {"images": 5}}}}, rows)
    assert summary.sizes_note.isHidden()
    summary._show_sizes_note({"label_issues": {"by_class": {"cat": {"images": 4}}}}, rows)
    assert not summary.sizes_note.isHidden()
    assert "cat (5 here, 4 in the scan)" in summary.sizes_note.text()
    assert "dog" not in summary.sizes_note.text()


def test_noise_matrix_axes_caption_and_level_short_headers(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="lea")
    panel = window.noise_panel
    window.tabs.setCurrentWidget(panel)
    assert AXES_CAPTION in panel.caption.text() and "rows: given" in AXES_CAPTION
    matrix = panel.matrix
    matrix.set_matrix(np.eye(10, dtype=np.int64), [str(i) for i in range(10)])
    assert not matrix.tilted_headers()
    short_top = matrix.cell_rect(0, 0).top()
    assert matrix.cell_at(matrix.cell_rect(3, 4).center()) == (3, 4)
    matrix.set_matrix(np.eye(3, dtype=np.int64), ["airplane", "automobile", "bird"])
    assert matrix.tilted_headers()
    assert matrix.cell_rect(0, 0).top() > short_top  # room for the tilted names
    matrix.grab()  # paints both ways without error


def test_tile_tooltip_and_legend_dialog(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="ann")
    data = window.session.data
    row = next(r for r in range(data.n) if data.path(r) == "cat/0001.png")
    _vote(project, data, {row: ("dog", "dog")})
    assert window.session.poll_changes()
    model = window.grid.grid_model
    slot = model.slot_of_view_index(int(np.flatnonzero(window.session.view.rows == row)[0]))
    tip = model.data(model.index_of_slot(slot), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("cat/0001.png")
    assert "label issue: the given label looks wrong" in tip
    assert "me: dog" in tip and "my vote" in tip
    assert "top-right" in tip
    window.actions_.legend.trigger()
    dialog = window.legend_dialog
    assert dialog is not None and dialog.isVisible()
    legend = dialog.text.text()
    assert "label issue" in legend and "needs the lead" in legend and "me: X" in legend
    dialog.close()


def test_sidebar_settled_column_and_header_tooltips(qtbot, project, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder, annotator="lea")
    model = window.sidebar.class_model
    horizontal = Qt.Orientation.Horizontal
    assert model.headerData(3, horizontal) == "Settled"
    tips = [model.headerData(c, horizontal, Qt.ItemDataRole.ToolTipRole) for c in range(4)]
    assert all(tips) and "agreed" in tips[3] and "flagged" in tips[2]

"""Agreement between annotators: Krippendorff's alpha, Fleiss' kappa (project and per class),
per-annotator agreement with the consensus and quality score, and the pairwise Cohen's kappa
matrix (``consensus.agreement``).

Everyone sees this panel; in blind mode every figure is computed over the images whose votes the
viewer may see (``core/consensus/rules.py``: ``visible_to_person``), so the per-class counts of an
annotator who has not voted never move with other people's votes.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from labelaudit.core.consensus.outcome import review_agreement
from labelaudit.core.consensus.rules import visible_to_person
from labelaudit.gui.session import ReviewSession
from labelaudit.gui.widgets.lazy_panel import RefreshWhenShown


def _fmt(value: Any) -> str:
    return "—" if value is None else f"{float(value):.3f}"


class AgreementPanel(RefreshWhenShown, QScrollArea):
    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._stale = True
        self._build_ui()
        self.session.data_changed.connect(self._refresh_if_visible)

    def _build_ui(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        self.text = QLabel()
        self.text.setWordWrap(True)
        layout.addWidget(self.text)
        layout.addStretch(1)
        self.setWidget(body)
        self.setWidgetResizable(True)

    def refresh(self) -> None:
        self._stale = False
        data = self.session.data
        review = data.review if data is not None else None
        if review is None or len(review.data.votes) == 0:
            self.text.setText("No votes yet: agreement appears once people have voted.")
            return
        visible = visible_to_person(review, self.session.annotator)
        if not visible[np.unique(review.data.image_index(review.data.votes.image_ids)[0])].any():
            self.text.setText(
                "No votes you may see yet: blind review shows other people's votes "
                "on an image once you have voted on it."
            )
            return
        matrix, report = review_agreement(review, visible=visible)
        counts = matrix.counts()
        class_votes = {
            name: (int(counts[:, c].sum()), int((counts[:, c] > 0).sum()))
            for c, name in enumerate([*review.data.catalog.class_names, "drop"])
        }
        self.text.setText(report_html(report, class_votes=class_votes))


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td align='right'>{cell}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table border='1' cellspacing='0' cellpadding='3'><tr>{head}</tr>{body}</table>"


SCALE_HINT = "≥ 0.8 reliable, 0.667–0.8 tentative, below: unreliable (Krippendorff)"
QUALITY_NOTE = (
    "Agreement with consensus: the share of an annotator's votes that match the settled "
    "consensus. Quality: the consensus method's own estimate of how reliable the annotator is "
    "(not a vote count), so the two can differ."
)


def _class_rows(
    per_class: dict[str, dict[str, Any]], class_votes: dict[str, tuple[int, int]]
) -> list[list[str]]:
    """One row per class: its alpha and kappa (this class vs the rest) and how often it was
    voted; a class whose kappa cannot be computed says so instead of a meaningless 0.000."""
    rows = []
    for name, st in per_class.items():
        votes, images = class_votes.get(name, (0, 0))
        if st.get("fleiss_kappa") is None or st.get("krippendorff_alpha") is None:
            alpha = kappa = "too few votes"
        else:
            alpha, kappa = _fmt(st["krippendorff_alpha"]), _fmt(st["fleiss_kappa"])
        rows.append([html.escape(name), alpha, kappa, str(images), str(votes)])
    return rows


def report_html(
    report: dict[str, Any], *, class_votes: dict[str, tuple[int, int]] | None = None
) -> str:
    """``agreement_report`` as HTML: the project's figures, then per class, per annotator and
    the pairwise Cohen's kappa matrix (cells: kappa, and the images both annotators voted on).

    ``class_votes`` maps a class name to (votes for it, images with at least one such vote).
    """
    project = report["project"]
    parts = [
        f"<h3>Agreement (consensus by {html.escape(str(report['method']))})</h3>",
        f"Krippendorff's alpha {_fmt(project.get('krippendorff_alpha'))}, "
        f"Fleiss' kappa {_fmt(project.get('fleiss_kappa'))}; "
        f"{project.get('items_with_2plus_votes', 0)} images with two or more votes, "
        f"{project.get('votes', 0)} votes.",
        f"<br><small>Alpha: {html.escape(SCALE_HINT)}.</small>",
        "<h3>Per class (this class vs the rest)</h3>",
    ]
    classes = _class_rows(report["per_class"], class_votes or {})
    header = ["class", "alpha", "Fleiss' kappa", "images voted this class", "votes for it"]
    parts.append(_table(header, classes))
    people = [p for p in report["annotators"] if p["votes"]]
    parts.append("<h3>Annotators</h3>")
    rows = [
        [
            html.escape(p["name"]),
            str(p["votes"]),
            _fmt(p["agreement_with_consensus"]),
            _fmt(p["quality"]),
        ]
        for p in people
    ]
    parts.append(_table(["annotator", "votes", "agreement with consensus", "quality"], rows))
    parts.append(f"<small>{html.escape(QUALITY_NOTE)}</small>")
    parts.append("<h3>Pairwise Cohen's kappa</h3>")
    cohen = report["cohen_kappa"]
    used = [i for i, name in enumerate(cohen["annotators"]) if name in {p["name"] for p in people}]
    matrix = [
        [html.escape(cohen["annotators"][a])]
        + [
            "—" if a == b else f"{_fmt(cohen['kappa'][a][b])} ({cohen['shared_items'][a][b]})"
            for b in used
        ]
        for a in used
    ]
    parts.append(_table(["", *(cohen["annotators"][b] for b in used)], matrix))
    return "".join(parts)

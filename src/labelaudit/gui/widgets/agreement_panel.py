"""Agreement between annotators: Krippendorff's alpha, Fleiss' kappa, per-annotator agreement
with the consensus and pairwise Cohen's kappa (``consensus.agreement``)."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from labelaudit.core.consensus.agreement import agreement_report
from labelaudit.core.consensus.review import vote_matrix
from labelaudit.gui.session import ReviewSession


def _fmt(value: Any) -> str:
    return "—" if value is None else f"{float(value):.3f}"


class AgreementPanel(QScrollArea):
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

    def _refresh_if_visible(self) -> None:
        """Panels in hidden tabs wait until they are shown (opening stays fast)."""
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        self._stale = False
        data = self.session.data
        review = data.review if data is not None else None
        if review is None or len(review.data.votes) == 0:
            self.text.setText("No votes yet: agreement appears once people have voted.")
            return
        matrix, _ = vote_matrix(review.data)
        report = agreement_report(
            matrix,
            review.result,
            annotator_names=[a.name for a in review.data.annotators],
            class_names=review.data.catalog.class_names,
        )
        project = report["project"]
        lines = [
            f"<h3>Agreement (consensus by {html.escape(str(report['method']))})</h3>",
            f"Krippendorff's alpha {_fmt(project.get('krippendorff_alpha'))}, "
            f"Fleiss' kappa {_fmt(project.get('fleiss_kappa'))}; "
            f"{project.get('items_with_2plus_votes', 0)} images with two or more votes, "
            f"{project.get('votes', 0)} votes.",
            "<h3>Annotators</h3>",
        ]
        for person in report["annotators"]:
            if not person["votes"]:
                continue
            lines.append(
                f"{html.escape(person['name'])}: {person['votes']} votes, agreement with the "
                f"consensus {_fmt(person['agreement_with_consensus'])}"
            )
        self.text.setText("<br>".join(lines))

"""Review progress with bars, as Label Studio and CVAT show it: how much of the images in review
I have done, how much the team has settled, and (for a lead) how many disagreements are decided.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QWidget

from labelaudit.core.views import STATE_CODE, ReviewData, needs_me

# Images in review: flagged or added by a lead, whatever their state now (broken files are not).
IN_REVIEW = tuple(
    STATE_CODE[s] for s in ("needs_votes", "agreed", "needs_lead", "resolved", "dropped", "stale")
)
SETTLED = tuple(STATE_CODE[s] for s in ("agreed", "resolved", "dropped"))


class Progress(NamedTuple):
    total: int  # images in review
    mine: int  # of those, no longer waiting for my vote
    team: int  # of those, settled (agreed, resolved or dropped)
    lead_total: int  # images that needed the lead (waiting or resolved)
    lead_done: int  # of those, resolved


def review_progress(data: ReviewData, shown: np.ndarray) -> Progress:
    in_review = np.isin(data.state, IN_REVIEW)
    waiting_for_me = needs_me(shown, is_lead=False) if shown.shape[0] == data.n else in_review
    needs_lead = data.state == STATE_CODE["needs_lead"]
    resolved = data.state == STATE_CODE["resolved"]
    return Progress(
        total=int(in_review.sum()),
        mine=int((in_review & ~waiting_for_me).sum()),
        team=int(np.isin(data.state, SETTLED).sum()),
        lead_total=int((needs_lead | resolved).sum()),
        lead_done=int(resolved.sum()),
    )


class ProgressPanel(QWidget):
    """Three lines of "reviewed 12 of 103" with a bar each; the lead's line for leads only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setVerticalSpacing(2)
        self.lines: dict[str, tuple[QLabel, QProgressBar]] = {}
        for row, key in enumerate(("me", "team", "lead")):
            label, bar = QLabel(), QProgressBar()
            label.setMinimumWidth(1)
            bar.setTextVisible(False)
            bar.setMaximumHeight(8)
            bar.setAccessibleName(f"{key} progress")
            layout.addWidget(label, row * 2, 0)
            layout.addWidget(bar, row * 2 + 1, 0)
            self.lines[key] = (label, bar)
        self.setAccessibleName("review progress")

    def set_progress(self, progress: Progress | None, *, is_lead: bool, chosen: bool) -> None:
        self.setVisible(progress is not None)
        if progress is None:
            return
        total = progress.total
        rows = {
            "me": (f"Me: reviewed {progress.mine:,} of {total:,}", progress.mine, total),
            "team": (f"Team: settled {progress.team:,} of {total:,}", progress.team, total),
            "lead": (
                f"Lead: decided {progress.lead_done:,} of {progress.lead_total:,}",
                progress.lead_done,
                progress.lead_total,
            ),
        }
        for key, (text, done, of) in rows.items():
            label, bar = self.lines[key]
            show = (key != "me" or chosen) and (key != "lead" or is_lead)
            label.setVisible(show)
            bar.setVisible(show)
            label.setText(text)
            bar.setRange(0, max(of, 1))
            bar.setValue(min(done, max(of, 1)))
            bar.setToolTip(f"{text} ({done / of:.0%})" if of else text)

    def text(self) -> str:
        """The visible lines, one per line (for tests and screen readers)."""
        return "\n".join(
            label.text() for label, _ in self.lines.values() if label.isVisibleTo(self)
        )

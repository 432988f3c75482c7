"""What the grid tiles' badges mean, in words: per-tile tooltips and the Legend dialog.

The delegate paints the badges from the same tables, so the words cannot drift from the marks.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from labelaudit.core.codes import ISSUE_BITS
from labelaudit.core.views import BROKEN_BIT, DROP_VOTE, NO_VOTE, ReviewData
from labelaudit.gui.style import STATE_LOOK

# Top-left badge letters (red when flagged for review, amber otherwise).
ISSUE_MARKS: tuple[tuple[int, str], ...] = (
    (ISSUE_BITS["label"], "L"),
    (ISSUE_BITS["near_duplicate"], "D"),
    (ISSUE_BITS["outlier"], "O"),
    (BROKEN_BIT, "B"),
)
ISSUE_WORDS = {
    "L": "label issue: the given label looks wrong",
    "D": "near duplicate of another image",
    "O": "outlier: unlike the rest of its class",
    "B": "broken file: it could not be read",
    "!": "flagged for review",
}


def describe_tile(data: ReviewData, row: int, *, shown: int, suggestion_visible: bool) -> list[str]:
    """The badges painted on the tile of image ``row``, one line of words each."""
    lines = []
    flags, flagged = int(data.issue_flags[row]), bool(data.flagged[row])
    if flagged or flags:
        marks = "".join(mark for bit, mark in ISSUE_MARKS if flags & bit) or "!"
        where = "flagged for review" if flagged else "noted, not flagged"
        words = "; ".join(ISSUE_WORDS[m] for m in marks)
        lines.append(f"top-left {marks} ({where}): {words}")
    if shown in STATE_LOOK:
        _, mark, words = STATE_LOOK[shown]
        lines.append(f"top-right {mark}: {words}")
    mine = int(data.my_vote[row])
    if mine != NO_VOTE:
        vote = data.class_names[mine] if mine >= 0 else ("drop" if mine == DROP_VOTE else "?")
        lines.append(f"bottom 'me: {vote}': my vote")
    suggested, label = int(data.suggested[row]), int(data.labels[row])
    if suggested >= 0 and suggested != label and suggestion_visible:
        lines.append(f"caption → {data.class_names[suggested]}: the suggested class")
    return lines


def legend_html() -> str:
    issue_rows = "".join(
        f"<tr><td><b>{html.escape(m)}</b></td><td>{html.escape(w)}</td></tr>"
        for m, w in ISSUE_WORDS.items()
    )
    state_rows = "".join(
        f"<tr><td><b><font color='{color}'>{html.escape(mark)}</font></b></td>"
        f"<td>{html.escape(words)}</td></tr>"
        for color, mark, words in STATE_LOOK.values()
    )
    return (
        "<h3>Top-left: why an image was flagged</h3>"
        "<p>Red: flagged for review; amber: noted but not flagged.</p>"
        f"<table cellpadding='3'>{issue_rows}</table>"
        "<h3>Top-right: review state</h3>"
        f"<table cellpadding='3'>{state_rows}</table>"
        "<h3>Bottom and caption</h3>"
        "<p><b>me: X</b> — my own vote (X a class, drop or ?).<br>"
        "<b>→ X</b> under the image — the class the scan suggests instead; <b>✓ X</b> — on an "
        "image with votes, the scan agrees with the given label X.<br>"
        "<b>2–1</b> at the caption's right — the vote split, most voted option first (hidden "
        "until you voted, in blind review); hover for who voted what.</p>"
        "<p>Hover a tile to read its badges in words.</p>"
    )


class LegendDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tile legend")
        layout = QVBoxLayout(self)
        self.text = QLabel(legend_html())
        self.text.setWordWrap(True)
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

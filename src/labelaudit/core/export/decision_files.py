"""Writing ``votes.csv`` and ``decisions.csv`` from a :class:`DecisionPath` and the export plan.

The columns are described in ``core/export/decision_path.py``; both files go through
``core/csv_safe.py``.
"""

from __future__ import annotations

import io
import math

import numpy as np

from labelaudit.core.consensus.decisions import DROP, DROP_CODE
from labelaudit.core.csv_safe import SafeWriter
from labelaudit.core.export.decision_path import DecisionPath
from labelaudit.core.export.plan import ExportPlan

VOTES_FILE = "votes.csv"
DECISIONS_FILE = "decisions.csv"
VOTES_COLUMNS = ("annotator", "path", "label", "time", "vote_id", "note")
DECISION_COLUMNS = (
    "path",
    "given_label",
    "state",
    "model_label",
    "model_prob",
    "votes",
    "consensus_label",
    "consensus_method",
    "estimated_accuracy",
    "lead",
    "lead_label",
    "lead_note",
    "final_label",
    "decided_by",
    "left_out",
)


def votes_csv(path: DecisionPath) -> str:
    buf = io.StringIO()
    writer = SafeWriter(buf, lineterminator="\n")
    writer.writerow(VOTES_COLUMNS)
    for row in path.votes:
        writer.writerow([row[c] for c in VOTES_COLUMNS])
    return buf.getvalue()


def _label(plan: ExportPlan, code: int) -> str:
    """A class code as its export folder name, 'drop', or '' for none."""
    if code == DROP_CODE:
        return DROP
    return plan.folder_of(code) if code >= 0 else ""


def _number(value: float, digits: int = 4) -> str:
    return "" if math.isnan(value) else f"{value:.{digits}f}"


def decisions_csv(plan: ExportPlan, path: DecisionPath, *, method: str) -> str:
    """One row per image review touched, or the scan's model fixed (see the module docstring)."""
    facts, final, paths = plan.review.facts, plan.final, plan.catalog.paths
    assert paths is not None
    notes = plan.review.lead_notes
    rows = np.flatnonzero(path.touched | (final.source == "auto-fix"))
    buf = io.StringIO()
    writer = SafeWriter(buf, lineterminator="\n")
    writer.writerow(DECISION_COLUMNS)
    for r in rows:
        voted = int(path.n_votes[r]) > 0
        writer.writerow(
            (
                paths[r],
                plan.folder_of(int(final.given[r])),
                str(facts.state[r]),
                plan.folder_of(int(facts.suggested[r])),
                _number(float(facts.suggested_prob[r])),
                int(path.n_votes[r]),
                _label(plan, int(path.consensus_class[r])) if voted else "",
                method if voted else "",
                _number(float(path.p_right[r])) if voted else "",
                path.lead[r],
                _label(plan, int(path.lead_decision[r])),
                notes.get(int(r), ""),
                plan.folder_of(int(final.final[r])),
                str(final.source[r]),
                str(plan.excluded[r]),
            )
        )
    return buf.getvalue()

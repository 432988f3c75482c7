"""The summary panel: label health, noise per class, overlapping classes, class sizes.

Numbers come from the latest scan's summary (cleanlab's estimates); the class-size chart and the
flagged counts come from the project's arrays, so the panel is useful before any scan too.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from labelaudit.core.errors import LabelauditError
from labelaudit.core.scan_summary import AuditSummary, ClassIssues
from labelaudit.core.store.scan_results import load_results
from labelaudit.gui.session import ReviewSession
from labelaudit.gui.views.bar_chart import BarChart
from labelaudit.gui.widgets.lazy_panel import RefreshWhenShown


def _fitted_table() -> QTableWidget:
    """A read-only table without scroll bars of its own: it is sized to its contents in
    ``_fit_to_contents`` and the page scrolls instead (no cut-off rows or columns)."""
    table = QTableWidget()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return table


def _fit_to_contents(table: QTableWidget) -> None:
    table.resizeColumnsToContents()
    table.resizeRowsToContents()
    frame = 2 * table.frameWidth()
    # Header sizes from their hints: their geometry is stale until the next layout pass.
    width = table.verticalHeader().sizeHint().width() + table.horizontalHeader().length() + frame
    height = table.horizontalHeader().sizeHint().height() + table.verticalHeader().length()
    table.setFixedSize(width, height + frame)


class SummaryPanel(RefreshWhenShown, QScrollArea):
    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._stale = True
        self._scan_shown: int | None = -1
        self._build_ui()
        self._connect()

    def _build_ui(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        self.health = QLabel()
        self.health.setWordWrap(True)
        self.noise = QLabel()
        self.noise.setWordWrap(True)
        self.overlaps = QLabel()
        self.overlaps.setWordWrap(True)
        self.chart = BarChart()
        self.sizes_note = QLabel()
        self.sizes_note.setWordWrap(True)
        self.sizes_note.hide()
        self.joint = _fitted_table()
        for title, widget in (
            ("Label health", self.health),
            ("Class sizes (red: flagged)", self.chart),
            ("", self.sizes_note),
            ("Noise per class", self.noise),
            ("Overlapping classes", self.overlaps),
            ("Calibrated confident joint (cleanlab's estimate, not an image set)", self.joint),
        ):
            if title:
                layout.addWidget(QLabel(f"<h3>{html.escape(title)}</h3>"))
            layout.addWidget(widget)
        layout.addStretch(1)
        self.setWidget(body)
        self.setWidgetResizable(True)

    def _connect(self) -> None:
        self.session.data_changed.connect(self._refresh_if_visible)

    def refresh(self) -> None:
        self._stale = False
        data, stats, project = self.session.data, self.session.stats, self.session.project
        if data is None or stats is None or project is None:
            return
        names = [*data.class_names, "(no label)"]
        rows = [(names[b], int(stats.count[b]), int(stats.flagged[b])) for b in range(data.k)]
        if stats.count[data.k]:
            rows.append((names[data.k], int(stats.count[data.k]), int(stats.flagged[data.k])))
        self.chart.set_rows(rows)
        if data.scan_id == self._scan_shown:
            return
        self._scan_shown = data.scan_id
        summary: AuditSummary | None = None
        joint = None
        if data.scan_id is not None:
            try:
                results = load_results(project.store, data.scan_id, names=("confident_joint",))
            except LabelauditError:
                results = None
            if results is not None:
                summary, joint = results.summary, results.arrays.get("confident_joint")
        self._show_health(summary, int(data.flagged.sum()), data.n)
        self._show_noise(summary)
        self._show_overlaps(summary)
        self._show_joint(joint, data.scan_class_names)
        self._show_sizes_note(summary, rows)

    def _show_health(self, summary: AuditSummary | None, flagged: int, n: int) -> None:
        if not summary:
            self.health.setText(f"No finished scan yet. {n:,} images. Run a scan (Scan menu).")
            return
        score = summary.get("health_score")
        accuracy = summary.get("accuracy")
        issues = summary.get("label_issues", {})
        parts = []
        if score is not None:
            parts.append(f"Label health score <b>{float(score):.1%}</b> (cleanlab's estimate)")
        if accuracy is not None:
            parts.append(f"cross-validated accuracy {float(accuracy):.1%}")
        parts.append(f"{flagged:,} of {n:,} images flagged")
        if "estimated" in issues:
            parts.append(f"about {int(issues['estimated']):,} labels estimated wrong")
        self.health.setText("; ".join(parts) + ".")

    def _show_noise(self, summary: AuditSummary | None) -> None:
        by_class = _by_class(summary)
        if not by_class:
            self.noise.setText("—")
            return
        ranked = sorted(by_class.items(), key=lambda kv: -float(kv[1].get("label_noise", 0)))
        lines = [
            f"{html.escape(name)}: {float(v.get('label_noise', 0)):.1%} estimated noise, "
            f"{int(v.get('flagged', 0))} flagged of {int(v.get('images', 0))}"
            for name, v in ranked
        ]
        self.noise.setText("<br>".join(lines))

    def _show_overlaps(self, summary: AuditSummary | None) -> None:
        pairs = (summary.get("overlapping_classes") if summary else None) or []
        if not pairs:
            self.overlaps.setText("none found" if summary else "—")
            return
        lines = [
            f"{html.escape(str(p['a']))} ↔ {html.escape(str(p['b']))}: about {int(p['overlap'])} "
            f"images ({float(p.get('share_of_smaller', 0)):.0%} of the smaller class)"
            for p in pairs
        ]
        self.overlaps.setText("<br>".join(lines))

    def _show_joint(self, joint: np.ndarray | None, names: list[str]) -> None:
        k = 0 if joint is None else int(joint.shape[0])
        self.joint.clear()
        self.joint.setRowCount(k)
        self.joint.setColumnCount(k)
        if joint is None:
            return
        labels = names if len(names) == k else [str(i) for i in range(k)]
        self.joint.setHorizontalHeaderLabels(labels)
        self.joint.setVerticalHeaderLabels(labels)
        for g in range(k):
            for s in range(k):
                self.joint.setItem(g, s, QTableWidgetItem(f"{int(joint[g, s])}"))
        _fit_to_contents(self.joint)

    def _show_sizes_note(
        self, summary: AuditSummary | None, rows: list[tuple[str, int, int]]
    ) -> None:
        """Footnote where the chart (every imported image) and the scan's per-class figures
        (only images the scan could read) disagree, so the two lists do not look wrong."""
        by_class = _by_class(summary)
        differ = []
        for name, count, _flagged in rows:
            stats = by_class.get(name)
            scan_images = count if stats is None else int(stats.get("images", count))
            if scan_images != count:
                differ.append(f"{html.escape(name)} ({count} here, {scan_images} in the scan)")
        self.sizes_note.setVisible(bool(differ))
        self.sizes_note.setText(
            "<small>Note: the chart counts every imported image; the scan's figures below leave "
            "out images it could not use (for example a broken file), so image counts differ for "
            + "; ".join(differ)
            + ".</small>"
        )


def _by_class(summary: AuditSummary | None) -> dict[str, ClassIssues]:
    """The summary's per-class rows; none for no scan (or a summary stored without them)."""
    issues = summary.get("label_issues") if summary else None
    return (issues.get("by_class") if issues else None) or {}

"""File > Export report…: the core's HTML report (``labelaudit report``), made from the app."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from labelaudit.core.errors import LabelauditError
from labelaudit.gui.session import ERROR, INFO
from labelaudit.gui.window_parts import WindowParts


def export_report(window: WindowParts, target: Path | None = None) -> None:
    """Ask where (unless ``target``), then write the report: a few seconds with a busy cursor
    (matplotlib is imported only now)."""
    from labelaudit.core.report.build import make_report

    project = window.session.project
    if project is None or (target is None and not window.interactive):
        return
    if target is None:
        suggested = str(Path.home() / f"{project.folder.name}-report.html")
        chosen, _ = QFileDialog.getSaveFileName(
            window.window(), "Export report", suggested, "HTML (*.html)"
        )
        if not chosen:
            return
        target = Path(chosen)
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        result = make_report(project, target)
    except LabelauditError as exc:
        window.show_message(ERROR, str(exc))
        return
    finally:
        QGuiApplication.restoreOverrideCursor()
    window.show_message(INFO, f"report written: {result.path}")

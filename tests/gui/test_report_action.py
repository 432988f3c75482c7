"""File > Export report… writes the project's HTML report (the core's ``make_report``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from export_helpers import make_project

pytest.importorskip("matplotlib")


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    """A project just imported (no scan): a report of the import's facts."""
    proj = make_project(tmp_path / "p", {"cat": 5, "dog": 4})
    proj.close()
    return proj.folder


def test_export_report_writes_the_html_and_says_where(
    make_window, imported, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = make_window(imported)
    action = window.actions_.export_report
    file_menu = window.menuBar().actions()[0].menu()
    assert action in file_menu.actions()
    assert action.isEnabled()
    target = tmp_path / "report.html"
    window.export_report(target)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "1. Diagnosis" in text
    assert str(target) in window.message_bar.text


def test_a_report_that_cannot_be_written_is_one_message(
    make_window, imported, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = make_window(imported)
    target = tmp_path / "missing" / "report.html"
    window.export_report(target)
    assert "does not exist" in window.message_bar.text
    assert not target.parent.exists()


def test_without_a_project_the_action_is_off(make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(None)
    assert not window.actions_.export_report.isEnabled()

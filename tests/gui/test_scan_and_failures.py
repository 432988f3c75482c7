"""Scans from the app (a real subprocess) and failures that must never crash the window."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

pytest.importorskip("PySide6")

from helpers import make_tree
from labelaudit.core.project import Project
from labelaudit.gui.dialogs.scan_dialog import format_eta, overall_fraction


@pytest.fixture
def unscanned(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = make_tree(tmp_path / "images", {"a": 12, "b": 12})
    proj = Project.create(tmp_path / "proj", root)
    proj.import_images()
    yield proj
    proj.close()


@pytest.mark.slow
def test_scan_dialog_runs_a_scan_and_the_grid_shows_it(qtbot, unscanned, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(unscanned.folder, annotator=None)
    assert window.session.data.scan_id is None
    window.open_scan_dialog()
    dialog = window.scan_dialog
    dialog.model.setCurrentText("small-cnn")
    dialog.folds.setValue(2)
    dialog.epochs.setValue(1)
    steps: list[str] = []
    dialog.process.progress_event.connect(
        lambda e: steps.append(str(e.get("step", e.get("event"))))
    )
    with qtbot.waitSignal(dialog.scan_finished, timeout=300_000) as finished:
        dialog.start_button.click()
        assert dialog.process.running
    assert finished.args[0] is True, finished.args
    assert any(s.startswith("fold 1/2") for s in steps) and "done" in steps
    assert dialog.bar.value() == 100
    assert window.session.data.scan_id is not None  # reloaded: the grid shows the results
    assert (window.session.data.suggested >= 0).sum() == 24
    dialog.close()


def test_a_failed_scan_is_a_message_not_a_crash(qtbot, unscanned, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(unscanned.folder, annotator=None)
    window.open_scan_dialog()
    dialog = window.scan_dialog
    dialog.folds.setValue(20)  # more folds than images per class: the scan refuses
    with qtbot.waitSignal(dialog.scan_finished, timeout=120_000) as finished:
        dialog.start_button.click()
    ok, text = finished.args
    assert not ok and text
    assert "Scan stopped" in dialog.status.text()
    assert "the scan did not finish" in window.message_bar.text
    dialog.close()


def test_cancel_stops_the_scan_process(qtbot, unscanned, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(unscanned.folder, annotator=None)
    window.open_scan_dialog()
    dialog = window.scan_dialog
    dialog.model.setCurrentText("small-cnn")
    with qtbot.waitSignal(dialog.scan_finished, timeout=120_000) as finished:
        dialog.start_button.click()
        qtbot.waitUntil(lambda: dialog.process.process.processId() > 0, timeout=10_000)
        qtbot.wait(300)
        dialog.cancel_button.click()  # SIGINT, then a kill after the grace period
    assert finished.args[0] is False
    assert not dialog.process.running
    assert window.session.data.scan_id is None
    dialog.close()


def test_the_bar_and_eta_cover_the_whole_scan(qtbot, unscanned, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(unscanned.folder, annotator=None)
    window.open_scan_dialog()
    dialog = window.scan_dialog
    decode = {"event": "update", "step": "decode", "done": 5, "total": 10}
    assert overall_fraction(decode) is None
    fold2 = {"step": "fold 2/5", "fold": 2, "n_folds": 5}
    fraction = overall_fraction({"event": "update", **fold2, "done": 50, "total": 100})
    assert fraction == pytest.approx(0.3)
    events = [
        {"event": "start", "step": "decode", "total": 24},
        {"event": "update", "step": "decode", "done": 24, "total": 24, "eta_s": 0},
        {"event": "start", "step": "fold 1/5", "fold": 1, "n_folds": 5, "total": 100},
        {
            "event": "update",
            "step": "fold 1/5",
            "fold": 1,
            "n_folds": 5,
            "done": 100,
            "total": 100,
            "eta_s": 400.0,
        },
        {"event": "start", **fold2, "total": 100},  # a new step keeps the bar
    ]
    for event in events:
        dialog._on_event(event)
    assert dialog.bar.value() == 20
    # the fold is read from the event's fields, never from its display name
    dialog._on_event({"event": "update", "step": "fold 4/5", "done": 50, "total": 100})
    assert dialog.bar.value() == 20
    update = {"event": "update", **fold2, "done": 50, "total": 100}
    dialog._on_event({**update, "epoch": 1, "epochs": 2, "eta_s": 125.0})  # whole scan's ETA
    assert dialog.bar.value() == 30  # (2 - 1 + 50/100) / 5
    assert dialog.status.text() == "fold 2/5 · epoch 1/2 · ETA 2 min 05 s"  # shown as sent
    dialog.close()


def test_closing_the_dialog_keeps_the_scan_and_quitting_stops_it_fast(  # type: ignore[no-untyped-def]
    qtbot, unscanned, make_window
) -> None:
    window = make_window(unscanned.folder, annotator=None)
    window.open_scan_dialog()
    dialog = window.scan_dialog
    dialog.model.setCurrentText("small-cnn")
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.process.process.processId() > 0, timeout=10_000)
    dialog.close()  # the X button: hide, the scan goes on
    assert not dialog.isVisible() and dialog.process.running
    assert "scan running in the background" in window.scan_note.text()
    window.open_scan_dialog()  # shows it again, still running
    assert dialog.isVisible() and dialog.process.running and window.scan_note.text() == ""
    dialog.close()
    started = time.monotonic()
    window.close()  # quitting: SIGINT, a short wait, then a kill
    assert time.monotonic() - started < 2.0
    assert not dialog.process.running


def test_eta_format() -> None:
    assert format_eta(None) == "estimating…"
    assert format_eta(42.4) == "42 s"
    assert format_eta(125) == "2 min 05 s"
    assert format_eta(3 * 3600 + 61) == "3 h 01 min"


def test_a_locked_database_is_a_message(qtbot, project, make_window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    window = make_window(project.folder)
    window.session.project.store.lock_timeout_s = 0.2
    blocker = sa.create_engine(f"sqlite:///{project.folder / 'labelaudit.db'}")
    with blocker.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout = 0")
        raw = conn.connection.dbapi_connection
        raw.isolation_level = None
        raw.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        window.session.decide("keep")
        raw.execute("ROLLBACK")
    blocker.dispose()
    assert "locked" in window.message_bar.text
    assert window.message_bar.property("level") == "error"
    assert window.isVisible()
    assert window.session.decide("keep")  # once free, voting works again


def test_a_missing_project_is_a_message(qtbot, tmp_path, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    assert not window.open_project(tmp_path / "nope")
    assert "no project" in window.message_bar.text
    assert window.session.project is None


def test_scan_dialog_mirroring_is_auto_unless_chosen(qtbot, unscanned, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window(unscanned.folder, annotator=None)
    window.open_scan_dialog()
    dialog = window.scan_dialog
    assert dialog.flip.currentText().startswith("auto")
    assert "--flip" not in dialog.options() and "--no-flip" not in dialog.options()
    dialog.flip.setCurrentText("off")
    assert "--no-flip" in dialog.options()
    dialog.flip.setCurrentText("on")
    assert "--flip" in dialog.options()
    dialog.close()

"""App fixtures: an isolated config folder, projects with scan results, windows that never leak."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from scans import store_scan

from labelaudit.core.consensus.annotators import add_annotator
from labelaudit.core.project import Project

try:
    import PySide6  # noqa: F401
except ModuleNotFoundError:  # the app needs the gui extra: nothing here can run
    collect_ignore_glob = ["test_*.py"]

# Flagged images of the standard test project: cat/0001 looks like a dog, and so on.
SUGGESTED = {"cat/0001.png": "dog", "cat/0004.png": "owl", "dog/0002.png": "cat"}


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app remembers names and recent projects under XDG_CONFIG_HOME: keep tests apart."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("LABELAUDIT_ANNOTATOR", raising=False)
    monkeypatch.delenv("LABELAUDIT_DB", raising=False)


@pytest.fixture(autouse=True)
def no_leaked_windows(qapp) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Fail a test that leaves a visible top-level window behind (napari's rule)."""
    before = {id(w) for w in qapp.topLevelWidgets()}
    yield
    qapp.processEvents()
    leaked = [w for w in qapp.topLevelWidgets() if w.isVisible() and id(w) not in before]
    for widget in leaked:
        widget.close()
        widget.deleteLater()
    qapp.processEvents()
    assert not leaked, f"windows left open: {[type(w).__name__ for w in leaked]}"


@pytest.fixture
def project(tmp_path: Path, tiny_tree: Path) -> Iterator[Project]:
    """15 images in 3 classes, a finished scan flagging 3, annotators ann, bob and a lead."""
    proj = Project.create(tmp_path / "proj", tiny_tree)
    proj.import_images()
    store_scan(proj, suggested=SUGGESTED, embeddings=True)
    add_annotator(proj.store, "ann")
    add_annotator(proj.store, "bob")
    add_annotator(proj.store, "lea", role="lead")
    proj.set_setting("votes_required", "2")
    yield proj
    proj.close()


@pytest.fixture
def make_window(qtbot) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    """Open the main window on a project (no dialogs), closed again after the test."""
    from PySide6.QtWidgets import QApplication

    from labelaudit.gui.main_window import MainWindow

    windows: list[MainWindow] = []

    def make(project_dir: Path | None = None, *, annotator: str | None = "ann") -> MainWindow:
        window = MainWindow(annotator=annotator, interactive=False)
        window.resize(1200, 800)
        window.show()
        qtbot.waitExposed(window)
        # Window shortcuts (the voting keys) fire only in the active window.
        window.windowHandle().requestActivate()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
        if project_dir is not None:
            assert window.open_project(project_dir), window.message_bar.text
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        window.deleteLater()

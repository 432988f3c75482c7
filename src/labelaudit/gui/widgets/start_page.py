"""What the window shows with no project open: recent projects, open, new, and the demo.

The demo is built by ``labelaudit demo DIR --no-gui`` in a child process (the same command a
terminal runs), its output shown line by line; when it ends the window opens DIR/project.
"""

from __future__ import annotations

import sys
from pathlib import Path

from platformdirs import user_data_path
from PySide6.QtCore import QProcess, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

INTRO = (
    "<h2>labelaudit</h2>"
    "<p>Find and fix wrong labels in an image dataset: a scan flags suspicious images, "
    "annotators vote on them, a lead settles disagreements.</p>"
)


def default_demo_dir() -> Path:
    return user_data_path("labelaudit") / "demo"


class StartPage(QWidget):
    open_requested = Signal(Path)  # a project folder to open
    open_dialog_requested = Signal()
    new_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.demo_dir = default_demo_dir()
        self.demo_args: list[str] = []  # extra arguments for ``labelaudit demo`` (tests)
        self.process: QProcess | None = None
        self._build_ui()
        self._connect()

    def _build_ui(self) -> None:
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        column = QVBoxLayout()
        outer.addLayout(column, 3)
        outer.addStretch(1)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        column.addWidget(intro)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open project…")
        self.new_button = QPushButton("New project…")
        self.demo_button = QPushButton("Try the demo")
        self.demo_button.setToolTip(
            "build a small dataset of handwritten digits with planted label errors, scan it and "
            "open it (about a minute)"
        )
        for button in (self.open_button, self.new_button, self.demo_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        column.addWidget(QLabel("<b>Recent projects</b> (double-click to open)"))
        self.recent = QListWidget()
        self.recent.setAccessibleName("recent projects")
        column.addWidget(self.recent, 1)
        self.demo_log = QPlainTextEdit()
        self.demo_log.setReadOnly(True)
        self.demo_log.setMaximumBlockCount(500)
        self.demo_log.hide()
        column.addWidget(self.demo_log, 1)

    def _connect(self) -> None:
        self.open_button.clicked.connect(self.open_dialog_requested)
        self.new_button.clicked.connect(self.new_requested)
        self.demo_button.clicked.connect(self.start_demo)
        self.recent.itemActivated.connect(
            lambda item: self.open_requested.emit(Path(item.data(Qt.ItemDataRole.UserRole)))
        )

    def set_recent(self, folders: list[str]) -> None:
        self.recent.clear()
        for folder in folders:
            item = QListWidgetItem(f"{Path(folder).name}  —  {folder}")
            item.setData(Qt.ItemDataRole.UserRole, folder)
            self.recent.addItem(item)
        if not folders:
            self.recent.addItem("(none yet)")
            self.recent.item(0).setFlags(Qt.ItemFlag.NoItemFlags)

    # -- the demo -------------------------------------------------------------------------------
    def start_demo(self) -> None:
        if self.process is not None:
            return
        self.demo_button.setEnabled(False)
        self.demo_log.clear()
        self.demo_log.show()
        self.demo_log.appendPlainText(f"building the demo in {self.demo_dir} …")
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._demo_finished)
        args = ["-m", "labelaudit", "demo", str(self.demo_dir), "--no-gui", *self.demo_args]
        self.process = process
        process.start(sys.executable, args)

    def _read_output(self) -> None:
        if self.process is not None:
            text = bytes(self.process.readAllStandardOutput().data()).decode(errors="replace")
            self.demo_log.appendPlainText(text.rstrip("\n"))

    def _demo_finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._read_output()
        self.process = None
        self.demo_button.setEnabled(True)
        if code == 0:
            self.open_requested.emit(self.demo_dir / "project")
        else:
            self.demo_log.appendPlainText(f"the demo stopped (exit code {code})")

    def stop(self) -> None:
        """The window closes: a demo still building is stopped."""
        if self.process is not None:
            self.process.kill()
            self.process.waitForFinished(3000)
            self.process = None

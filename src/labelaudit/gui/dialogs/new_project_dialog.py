"""Create a project for a folder of images (``labelaudit init`` in a subprocess, so a long import
never freezes the window)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QProcess
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class NewProjectDialog(QDialog):
    def __init__(self, images: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.created: Path | None = None
        self.process = QProcess(self)
        self._build_ui()
        self._connect()
        if images is not None:
            self.images.setText(str(images))
            self.project.setText(str(images.parent / f"{images.name}-labelaudit"))

    def _build_ui(self) -> None:
        self.setWindowTitle("New project")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.images = QLineEdit()
        self.project = QLineEdit()
        for label, edit in (
            ("Images (a folder per class)", self.images),
            ("Project folder", self.project),
        ):
            row = QHBoxLayout()
            browse = QPushButton("…")
            browse.clicked.connect(lambda _=False, e=edit: self._browse(e))
            row.addWidget(edit, 1)
            row.addWidget(browse)
            form.addRow(label, row)
        layout.addLayout(form)
        self.status = QLabel("Images stay where they are; nothing is modified or moved.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        layout.addWidget(self.buttons)
        self.resize(560, 200)

    def _connect(self) -> None:
        self.buttons.accepted.connect(self._create)
        self.buttons.rejected.connect(self.reject)
        self.process.finished.connect(self._on_finished)

    def _browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if folder:
            edit.setText(folder)

    def _create(self) -> None:
        images, project = self.images.text().strip(), self.project.text().strip()
        if not images or not project:
            self.status.setText("Choose both folders.")
            return
        self.status.setText("Importing… (every image is read once and checked)")
        self.buttons.setEnabled(False)
        argv = ["-m", "labelaudit", "init", project, "--images", images]
        self.process.start(sys.executable, argv)

    def _on_finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self.buttons.setEnabled(True)
        output = bytes(self.process.readAllStandardError().data()).decode("utf-8", "replace")
        if code == 0:
            self.created = Path(self.project.text().strip())
            self.accept()
        else:
            lines = [line for line in output.splitlines() if line.strip()]
            self.status.setText(lines[-1] if lines else f"the import failed ({code})")

"""Run a scan from the app: options, a progress bar with fold, epoch and ETA, and Cancel.

Closing the dialog only hides it: the scan goes on (the main window's status bar says so, and
Scan ▸ Run scan… shows the dialog again). Only the Cancel button stops a scan, and quitting the
app, which never blocks the window for more than about a second (``stop_for_exit``).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from labelaudit.core.progress import ProgressEvent
from labelaudit.gui.session import ReviewSession
from labelaudit.gui.workers.scan_process import ScanProcess, scan_command

MODELS = ("auto", "small-cnn", "resnet18", "mobilenet_v3_small")
# The mirroring choice and the scan options it adds ("auto": colour photos yes, glyphs no).
FLIP_CHOICES = {"auto (from the images)": [], "on": ["--flip"], "off": ["--no-flip"]}
EXIT_GRACE_MS = 800  # SIGINT, then this long for a clean stop, then a kill (quitting the app)


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


class ScanDialog(QDialog):
    scan_finished = Signal(bool, str)  # success, message
    backgrounded = Signal()  # hidden while the scan goes on

    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.process = ScanProcess(self)
        self._step: ProgressEvent = {"event": "start", "step": ""}
        self._exiting = False
        self._build_ui()
        self._connect()

    def _build_ui(self) -> None:
        self.setWindowTitle("Scan")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.addItems(list(MODELS))
        self.linear_probe = QCheckBox("frozen pretrained backbone + logistic regression")
        self.folds = _spin(2, 20, 5)
        self.epochs = _spin(0, 500, 0, special="auto")
        self.image_size = _spin(0, 1024, 0, special="auto")
        self.seed = _spin(0, 2**31 - 1, 0)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        # Mirroring is decided from the images unless the user says otherwise (core/scan/mirror.py).
        self.flip = QComboBox()
        self.flip.addItems(list(FLIP_CHOICES))
        for label, widget in (
            ("Model", self.model),
            ("", self.linear_probe),
            ("Folds", self.folds),
            ("Epochs", self.epochs),
            ("Image size", self.image_size),
            ("Seed", self.seed),
            ("Device", self.device),
            ("Mirroring", self.flip),
        ):
            form.addRow(label, widget)
        layout.addLayout(form)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.status = QLabel("Ready. The scan runs in its own process; the app stays usable.")
        self.status.setWordWrap(True)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start scan")
        self.cancel_button = QPushButton("Close")
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        for shown in (self.bar, self.status, self.log):
            layout.addWidget(shown)
        layout.addLayout(buttons)
        self.resize(520, 520)

    def _connect(self) -> None:
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        self.process.progress_event.connect(self._on_event)
        self.process.finished.connect(self._on_finished)

    def options(self) -> list[str]:
        args = ["--model", self.model.currentText().strip() or "auto"]
        args += ["--folds", str(self.folds.value()), "--seed", str(self.seed.value())]
        args += ["--device", self.device.currentText()]
        if self.epochs.value():
            args += ["--epochs", str(self.epochs.value())]
        if self.image_size.value():
            args += ["--image-size", str(self.image_size.value())]
        if self.linear_probe.isChecked():
            args.append("--linear-probe")
        args += FLIP_CHOICES[self.flip.currentText()]
        return args

    def start(self) -> None:
        project = self.session.project
        if project is None or self.process.running:
            return
        argv = scan_command(project.folder, self.options(), db_url=self.session.db_url)
        self.log.appendPlainText("$ labelaudit " + " ".join(argv[3:]))
        self.bar.setValue(0)
        self.status.setText("starting…")
        self.start_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.process.start(argv)

    def _cancel_or_close(self) -> None:
        if self.process.running:
            self.status.setText("cancelling… (finished folds are kept for a resume)")
            self.process.cancel()
        else:
            self.close()

    def _on_event(self, event: ProgressEvent) -> None:
        kind = event["event"]
        if kind == "start":
            # The bar shows the whole scan: a new step does not reset it.
            self._step = event
            self._set_overall(overall_fraction({**event, "done": 0}))
            self.status.setText(event.get("step", ""))
        elif kind == "update":
            self._show_update(event)
        elif kind == "message":
            self.log.appendPlainText(str(event.get("text", "")))
        elif kind == "done":
            self.bar.setValue(100)
            self.log.appendPlainText(
                f"scan #{event.get('scan_id')} done: {event.get('label_issues')} labels flagged"
            )

    def _show_update(self, event: ProgressEvent) -> None:
        """The engine's ``eta_s`` already covers the whole scan (folds still to come included):
        it is shown as sent."""
        done, total = event.get("done") or 0, event.get("total")
        self._set_overall(overall_fraction(event))
        parts = [event.get("step", self._step.get("step", ""))]
        if total and "fold" not in event:
            parts.append(f"{100 * done / total:.0f}%")
        if event.get("epoch"):
            parts.append(f"epoch {event['epoch']}/{event.get('epochs', '?')}")
        parts.append(f"ETA {format_eta(event.get('eta_s'))}")
        self.status.setText(" · ".join(parts))

    def _set_overall(self, fraction: float | None) -> None:
        if fraction is not None:
            self.bar.setValue(round(100 * fraction))

    def _on_finished(self, code: int, error: str) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setText("Close")
        if self._exiting:
            return
        if code == 0:
            self.status.setText("Scan finished: results are in the grid.")
            self.scan_finished.emit(True, "scan finished")
        else:
            text = error or f"the scan exited with code {code}"
            self.status.setText(f"Scan stopped: {text}")
            self.log.appendPlainText(text)
            self.scan_finished.emit(False, text)

    def hideEvent(self, event: QHideEvent) -> None:
        """Closing (X, Escape, Close) hides the dialog; a running scan goes on."""
        super().hideEvent(event)
        if self.process.running and not event.spontaneous() and not self._exiting:
            self.backgrounded.emit()

    def stop_for_exit(self) -> None:
        """The app quits: SIGINT (finished folds are kept for a resume), a short bounded wait,
        then a kill. The GUI thread waits at most about a second."""
        if not self.process.running:
            return
        self._exiting = True
        self.process.cancel()
        if not self.process.wait(EXIT_GRACE_MS):
            self.process.process.kill()
            self.process.wait(200)


def overall_fraction(event: ProgressEvent) -> float | None:
    """How far the whole scan is, from an event of fold F of N: (F - 1 + done / total) / N; None
    for other steps (decoding, embeddings), which leave the bar where it is."""
    fold, folds = event.get("fold"), event.get("n_folds")
    if fold is None or folds is None:
        return None
    done, total = event.get("done") or 0, event.get("total")
    within = min(max(done / total, 0.0), 1.0) if total else 0.0
    return (fold - 1 + within) / max(folds, 1)


def _spin(low: int, high: int, value: int, *, special: str | None = None) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)
    return box

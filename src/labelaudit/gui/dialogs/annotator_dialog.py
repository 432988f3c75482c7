"""Who is working: pick a registered name or register a new annotator. The role comes from the
project's registry, not from the person at the keyboard: new names here are annotators, and leads
are made with ``labelaudit annotators add PROJECT NAME --role lead``."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from labelaudit.core.consensus.annotators import Annotator, add_annotator, list_annotators
from labelaudit.core.errors import LabelauditError
from labelaudit.core.store.engine import Store


class AnnotatorDialog(QDialog):
    def __init__(
        self, store: Store, *, preselect: str | None = None, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.store = store
        self.chosen: Annotator | None = None
        self._preselect = preselect
        self._build_ui()
        self._connect()
        self._reload()

    def _build_ui(self) -> None:
        self.setWindowTitle("Who is working?")
        layout = QVBoxLayout(self)
        self.intro = QLabel(
            "Pick your name, or register yourself as a new annotator of this project. "
            "Leads are registered from the command line: "
            "<code>labelaudit annotators add PROJECT NAME --role lead</code>."
        )
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        self.names = QListWidget()
        self.names.setAccessibleName("registered annotators")
        layout.addWidget(self.names)
        row = QHBoxLayout()
        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText("new annotator's name")
        self.register_button = QPushButton("Register as annotator")
        row.addWidget(self.new_name, 1)
        row.addWidget(self.register_button)
        layout.addLayout(row)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        layout.addWidget(self.buttons)

    def _connect(self) -> None:
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.register_button.clicked.connect(self._register)
        self.new_name.returnPressed.connect(self._register)
        self.names.itemDoubleClicked.connect(lambda _item: self._accept())

    def _reload(self, select: str | None = None) -> None:
        self.names.clear()
        try:
            people = list_annotators(self.store)
        except LabelauditError as exc:
            self.error.setText(str(exc))
            return
        wanted = select or self._preselect
        for person in people:
            item = QListWidgetItem(f"{person.name}  ({person.role})")
            item.setData(Qt.ItemDataRole.UserRole, person)
            self.names.addItem(item)
            if person.name == wanted:
                self.names.setCurrentItem(item)
        if self.names.currentItem() is None and self.names.count():
            self.names.setCurrentRow(0)

    def _register(self) -> None:
        name = self.new_name.text()
        try:
            known = list_annotators(self.store)  # fresh: someone may have registered meanwhile
        except LabelauditError as exc:
            self.error.setText(str(exc))
            return
        existing = next((p for p in known if p.name == name.strip()), None)
        if existing is not None:
            # Registering again would change the role (a lead would become an annotator):
            # pick the existing entry instead.
            self.error.setText(f"{existing.name} is already registered ({existing.role})")
            self._reload(select=existing.name)
            return
        try:
            person = add_annotator(self.store, name, role="annotator", actor=name)
        except LabelauditError as exc:
            self.error.setText(str(exc))
            return
        self.new_name.clear()
        self.error.clear()
        self._reload(select=person.name)

    def _accept(self) -> None:
        item = self.names.currentItem()
        if item is None:
            self.error.setText("pick a name or register one")
            return
        self.chosen = item.data(Qt.ItemDataRole.UserRole)
        self.accept()

"""Who is working: pick a registered name or register a new one. The role comes from the
project's registry (a lead is registered as a lead), not from the person at the keyboard."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
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

from labelaudit.core.consensus.annotators import ROLES, Annotator, add_annotator, list_annotators
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
        layout.addWidget(QLabel("Pick your name, or register a new annotator for this project."))
        self.names = QListWidget()
        self.names.setAccessibleName("registered annotators")
        layout.addWidget(self.names)
        row = QHBoxLayout()
        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText("new name")
        self.role = QComboBox()
        self.role.addItems(list(ROLES))
        self.register_button = QPushButton("Register")
        row.addWidget(self.new_name, 1)
        row.addWidget(self.role)
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
        known = {
            self.names.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.names.count())
        }
        existing = next((p for p in known if p.name == name.strip()), None)
        if existing is not None:
            # Registering again would change the role: pick the existing entry instead.
            self.error.setText(f"{existing.name} is already registered ({existing.role})")
            self._reload(select=existing.name)
            return
        try:
            person = add_annotator(self.store, name, role=self.role.currentText(), actor=name)
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

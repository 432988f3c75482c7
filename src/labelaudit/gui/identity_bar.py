"""Who is working, unmistakably: the window title and a coloured bar under the menus (purple in
lead mode, where every key on an image waiting for the lead is a final decision).

``identity.py`` decides who is working and keeps these up to date.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from labelaudit.core.consensus.annotators import Annotator

APP_NAME = "labelaudit"
LEAD_COLOR, LEAD_TEXT = "#6c2d91", "#ffffff"
ANNOTATOR_COLOR, ANNOTATOR_TEXT = "#e3eefa", "#17324d"
NOBODY_COLOR, NOBODY_TEXT = "#fff4d6", "#5c4300"


def window_title(project: str | None, who: Annotator | None) -> str:
    """ "proj — lena (LEAD) — labelaudit"; the name and role come first after the project."""
    if project is None:
        return APP_NAME
    if who is None:
        return f"{project} — nobody chosen — {APP_NAME}"
    role = "LEAD" if who.is_lead else who.role
    return f"{project} — {who.name} ({role}) — {APP_NAME}"


def identity_text(who: Annotator | None) -> str:
    if who is None:
        return "Nobody chosen: pick who is working before voting"
    if who.is_lead:
        return (
            f"<b>LEAD MODE — {who.name}</b>: your keys on images that wait for the lead are "
            "final decisions"
        )
    return f"Working as <b>{who.name}</b> (annotator): your keys are votes"


class IdentityBar(QFrame):
    """One line under the menus: who is working, in the role's colour, and a switch button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 4, 2)
        self.label = QLabel()
        self.label.setMinimumWidth(1)
        self.switch_button = QToolButton()
        self.switch_button.setText("Switch…")
        self.switch_button.setAutoRaise(True)
        self.switch_button.setToolTip("choose who is working (File ▸ Who is working…)")
        layout.addWidget(self.label, 1)
        layout.addWidget(self.switch_button)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAccessibleName("who is working")
        self.role = ""
        self.hide()

    def set_who(self, who: Annotator | None, *, project_open: bool) -> None:
        self.setVisible(project_open)
        self.role = "" if who is None else ("lead" if who.is_lead else "annotator")
        background, color = (
            (NOBODY_COLOR, NOBODY_TEXT)
            if who is None
            else (LEAD_COLOR, LEAD_TEXT)
            if who.is_lead
            else (ANNOTATOR_COLOR, ANNOTATOR_TEXT)
        )
        self.setStyleSheet(
            f"IdentityBar {{ background: {background}; }} QLabel, QToolButton {{ color: {color}; }}"
        )
        self.label.setText(identity_text(who))
        self.label.setToolTip(self.label.text())

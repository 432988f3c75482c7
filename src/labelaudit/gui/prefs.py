"""What the app remembers on this machine: recent projects, who worked on which project, sizes.

Stored in an INI file under the user's config folder (platformdirs; ``XDG_CONFIG_HOME`` moves it,
which the tests use), never in the project.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from platformdirs import user_config_path
from PySide6.QtCore import QSettings

MAX_RECENT = 10


class Prefs:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or user_config_path("labelaudit") / "app.ini"
        self._settings = QSettings(str(self.path), QSettings.Format.IniFormat)

    def recent_projects(self) -> list[str]:
        value = self._settings.value("recent", [])
        items = (
            [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
        )
        return [str(v) for v in items if v]

    def add_recent(self, folder: Path) -> None:
        text = str(folder)
        items = [text, *(p for p in self.recent_projects() if p != text)][:MAX_RECENT]
        self._settings.setValue("recent", items)
        self._settings.sync()

    def annotator_for(self, project_id: str) -> str | None:
        value = self._settings.value(f"annotator/{project_id}")
        return str(value) if value else None

    def set_annotator_for(self, project_id: str, name: str) -> None:
        self._settings.setValue(f"annotator/{project_id}", name)
        self._settings.sync()

    def last_project(self) -> str | None:
        """The project someone last chose a name for here (a different one: ask again)."""
        value = self._settings.value("last_project")
        return str(value) if value else None

    def set_last_project(self, project_id: str) -> None:
        self._settings.setValue("last_project", project_id)
        self._settings.sync()

    def tile_size(self, default: int) -> int:
        value: Any = self._settings.value("tile_size", default)  # a str from the .ini file
        try:
            return int(value)
        except (TypeError, ValueError):
            return default

    def set_tile_size(self, size: int) -> None:
        self._settings.setValue("tile_size", size)

"""Panels in hidden tabs refresh only once shown: opening the app and polling stay fast."""

from __future__ import annotations


class RefreshWhenShown:
    """Mixin for a QWidget with ``refresh()``: data changes mark it stale; showing refreshes."""

    _stale = True

    def refresh(self) -> None:  # pragma: no cover - implemented by the panel
        raise NotImplementedError

    def _refresh_if_visible(self) -> None:
        self._stale = True
        if self.isVisible():  # type: ignore[attr-defined]
            self.refresh()

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().showEvent(event)  # type: ignore[misc]
        if self._stale:
            self.refresh()

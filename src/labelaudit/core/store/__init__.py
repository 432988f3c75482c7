"""The project store: SQLAlchemy Core over SQLite (default) or PostgreSQL (team store)."""

from labelaudit.core.store.engine import Store, normalize_url, public_url, sqlite_url

__all__ = ["Store", "normalize_url", "public_url", "sqlite_url"]

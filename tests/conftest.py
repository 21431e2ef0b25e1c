"""Shared fixtures: an isolated FLOWTRACK_HOME per test and one PostgreSQL database per session."""

from __future__ import annotations

import importlib
import importlib.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

# Set by ./scripts/test, which installs every part the tests use: there a missing part is an
# install that went wrong, and must fail rather than pass as skipped tests.
COMPLETE = os.environ.get("FLOWTRACK_TESTS_COMPLETE") == "1"


def missing(reason: str, module_level: bool = False) -> NoReturn:
    """A part a test needs is not here: skip, naming it (a developer's partial setup), or fail
    under ./scripts/test."""
    if COMPLETE:
        pytest.fail(f"{reason}; ./scripts/test should have installed it", pytrace=False)
    pytest.skip(reason, allow_module_level=module_level)


def need_module(name: str) -> Any:
    """Module ``name`` (pinned in requirements/dev.txt), or `missing` if it is not installed."""
    if importlib.util.find_spec(name) is None:
        missing(f"{name} is not installed (requirements/dev.txt pins it)")
    return importlib.import_module(name)


PG_ADMIN_URI = os.environ.get(
    "FLOWTRACK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def ft_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own embedded store, spool and artifact folder."""
    import flowtrack.testing

    home = tmp_path / "flowtrack-home"
    for key in list(os.environ):
        if key.startswith("FLOWTRACK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("FLOWTRACK_HOME", str(home))
    flowtrack.testing.reset()
    yield home
    flowtrack.testing.reset()
    # Variables the code under test set itself (an adapter exporting FLOWTRACK_TRACKING_URI for
    # the processes a task starts) are not monkeypatch's to undo: drop them here, or the next
    # module-scoped fixture (set up before this one) would start its processes with them.
    for key in [k for k in os.environ if k.startswith("FLOWTRACK_") and k != "FLOWTRACK_HOME"]:
        del os.environ[key]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for the whole session, dropped at the end."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    name = f"flowtrack_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URI} is not reachable: {exc}")
    uri = PG_ADMIN_URI.rsplit("/", 1)[0] + f"/{name}"
    yield uri
    from flowtrack.tracking.stores import forget_stores

    forget_stores()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request: pytest.FixtureRequest, ft_home: Path) -> str:
    """A tracking URI of each backend; PostgreSQL tests share one database, so they use fresh
    experiment names and run ids rather than expecting an empty store."""
    if request.param == "sqlite":
        return f"sqlite:///{ft_home / 'flowtrack.db'}"
    uri: str = request.getfixturevalue("pg_database")
    return uri

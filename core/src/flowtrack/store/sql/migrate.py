"""Schema migrations: automatic, and safe when many processes start at once.

The fast path is one SELECT of the Alembic revision; Alembic itself is imported only when the
schema is behind. Upgrades run under a lock (a file lock beside an SQLite file, an advisory lock
in PostgreSQL), and the revision is read again once the lock is held.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from flowtrack.config import sqlite_path

HEAD_REVISION = "0005"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# An arbitrary constant that names "flowtrack schema migration" among PostgreSQL advisory locks.
_PG_LOCK_KEY = 0x466C7472


def current_revision(conn: Connection) -> str | None:
    try:
        with conn.begin_nested() if conn.in_transaction() else contextlib.nullcontext():
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except DBAPIError:
        return None
    return str(row[0]) if row else None


def ensure_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        revision = current_revision(conn)
        conn.rollback()
    if revision == HEAD_REVISION:
        return
    with _migration_lock(engine):
        _upgrade(engine)


def _upgrade(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as raw:
        conn = raw.execution_options(flowtrack_write=True)
        with conn.begin():
            if current_revision(conn) == HEAD_REVISION:
                return
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "sqlite":
        from filelock import FileLock

        db = sqlite_path(str(engine.url))
        if db is None:  # in-memory: one process by definition
            yield
            return
        with FileLock(str(db) + ".migrate.lock", timeout=300):
            yield
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
    else:
        yield

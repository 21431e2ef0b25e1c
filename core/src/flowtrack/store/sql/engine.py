"""Engines for the SQL store: SQLite tuned for many writer processes, PostgreSQL as is."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import time
import weakref
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from flowtrack.config import sqlite_path

# How long a writer waits for SQLite's lock before giving up. Batches are short, so only a
# crowd of processes waits this long; past it the event goes to the spool, never lost.
SQLITE_BUSY_TIMEOUT_S = 60.0


_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def make_engine(uri: str) -> Engine:
    url = make_url(uri)
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(uri)
    else:
        if url.drivername == "postgresql" and importlib.util.find_spec("psycopg2") is None:
            # psycopg 3 is what `flowtrack[postgres]` installs; plain postgresql:// just works.
            url = url.set(drivername="postgresql+psycopg")
        engine = create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=8)
    _engines.add(engine)
    return engine


def _after_fork_in_child() -> None:
    # A forked child (Airflow's LocalExecutor forks its workers from the scheduler, and they
    # fork each task) must not use the parent's pooled connections: two processes on one
    # socket corrupt both sessions. The child forgets them without closing them (closing
    # would end the parent's session too) and opens its own.
    for engine in list(_engines):
        engine.dispose(close=False)


def _sqlite_engine(uri: str) -> Engine:
    path = sqlite_path(uri)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        uri, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite so BEGIN IMMEDIATE can be used below.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that later writes fails at once with "database is locked"
        # when another writer holds the lock (the busy timeout does not apply to the upgrade),
        # so writers take the lock up front and queue behind each other instead.
        if conn.get_execution_options().get("flowtrack_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def _enable_wal(cursor: Any) -> None:
    # WAL is a property of the file, so only the first connection to a new database switches
    # it. The switch needs the exclusive lock, and SQLite reports "database is locked" at once
    # instead of waiting the busy timeout when another process (a concurrent first start) holds
    # it, so wait here for the holder to finish, then see the mode it set.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


os.register_at_fork(after_in_child=_after_fork_in_child)

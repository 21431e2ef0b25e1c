"""Many processes on one SQLite file, and many processes migrating one new store at once."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

pytestmark = pytest.mark.slow

WRITERS = 16
RUNS_PER_WRITER = 3
POINTS_PER_RUN = 300


def _writer(home: str, uri: str, index: int, barrier: object, errors: object) -> None:
    import os

    os.environ["FLOWTRACK_HOME"] = home
    os.environ["FLOWTRACK_TRACKING_URI"] = uri
    os.environ["FLOWTRACK_FLUSH_TIMEOUT"] = "120"
    import logging

    import flowtrack

    problems: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                problems.append(record.getMessage())

    logging.getLogger("flowtrack").addHandler(Catch())
    barrier.wait()  # type: ignore[attr-defined]
    try:
        flowtrack.set_experiment("crowd")
        for r in range(RUNS_PER_WRITER):
            with flowtrack.start_run(run_name=f"w{index}-r{r}"):
                flowtrack.log_params({"writer": index, "run": r})
                for step in range(POINTS_PER_RUN):
                    flowtrack.log_metric("m", float(step), step=step)
                    if step % 50 == 0:
                        flowtrack.set_tag("progress", step)
        if not flowtrack.flush(timeout=120):
            problems.append("flush did not complete")
    except Exception as exc:
        problems.append(repr(exc))
    errors.extend(problems)  # type: ignore[attr-defined]


def test_sixteen_processes_on_one_sqlite_file(ft_home: Path) -> None:
    import flowtrack

    uri = f"sqlite:///{ft_home / 'crowd.db'}"
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        errors = manager.list()
        barrier = manager.Barrier(WRITERS)
        procs = [
            ctx.Process(target=_writer, args=(str(ft_home), uri, i, barrier, errors))
            for i in range(WRITERS)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(300)
        assert [p.exitcode for p in procs] == [0] * WRITERS
        assert list(errors) == []
    flowtrack.set_tracking_uri(uri)
    client = flowtrack.Client()
    runs = client.search_runs("crowd", max_results=1000).items
    assert len(runs) == WRITERS * RUNS_PER_WRITER
    for run in runs:
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "m")
        assert [m.step for m in history] == list(range(POINTS_PER_RUN))
        assert run.data.tags["progress"] == "250"


def _open_store(uri: str, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    from flowtrack.store.sql.store import SqlStore

    SqlStore(uri).get_or_create_experiment("Default")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_first_start_migrates_once(
    backend: str, ft_home: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        uri = f"sqlite:///{ft_home / 'fresh.db'}"
    else:
        from tests.core.faults import missing_pg_database

        cm = missing_pg_database()
        uri, bring_up = cm.__enter__()
        request.addfinalizer(lambda: cm.__exit__(None, None, None))
        bring_up()  # type: ignore[operator]
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(8)
        procs = [ctx.Process(target=_open_store, args=(uri, barrier)) for _ in range(8)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
    assert [p.exitcode for p in procs] == [0] * 8
    engine = create_engine(uri.replace("postgresql+psycopg", "postgresql+psycopg"))
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {
        "experiments",
        "runs",
        "metric_blocks",
        "latest_metrics",
        "journals",
        "alembic_version",
    } <= tables


def test_switching_to_wal_waits_out_a_lock_sqlite_does_not_wait_for() -> None:
    """SQLite answers "database is locked" at once, without its busy timeout, to a connection
    switching a new file to WAL while another process's first start holds the lock (seen in CI
    as one of eight first starts failing). The switch retries until the holder is done; any
    other error still raises."""
    import sqlite3

    from flowtrack.store.sql.engine import _enable_wal

    class Cursor:
        def __init__(self, failures: int, message: str) -> None:
            self.failures, self.message, self.statements = failures, message, []

        def execute(self, sql: str) -> Cursor:
            self.statements.append(sql)
            if sql == "PRAGMA journal_mode=WAL" and self.failures:
                self.failures -= 1
                raise sqlite3.OperationalError(self.message)
            return self

        def fetchone(self) -> tuple[str]:
            return ("delete",)

    locked = Cursor(failures=3, message="database is locked")
    _enable_wal(locked)
    assert locked.statements.count("PRAGMA journal_mode=WAL") == 4
    broken = Cursor(failures=1, message="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        _enable_wal(broken)


def test_migrations_match_the_schema(ft_home: Path) -> None:
    """The Alembic revisions build exactly the tables of schema.py."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flowtrack.store.sql.schema import metadata
    from flowtrack.store.sql.store import SqlStore

    store = SqlStore(f"sqlite:///{ft_home / 'm.db'}")
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert diff == []


@pytest.mark.postgres
def test_a_forked_child_opens_its_own_connections(pg_database: str) -> None:
    """Airflow's LocalExecutor forks workers from the scheduler, and they fork tasks: a child
    that used its parent's pooled PostgreSQL connection would share one session (one socket)
    with it and corrupt both. The child gets its own; the parent's still works."""
    import os

    from flowtrack.store.sql.engine import make_engine
    from sqlalchemy import text

    engine = make_engine(pg_database)
    backend = "SELECT pg_backend_pid()"
    with engine.connect() as conn:
        parent_pid = conn.execute(text(backend)).scalar_one()  # now pooled, idle
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report its session's backend pid, and leave at once
        code = 1
        try:
            with engine.connect() as conn:
                os.write(write, str(conn.execute(text(backend)).scalar_one()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(child, 0)
    child_pid = int(os.read(read, 64) or b"0")
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child_pid not in (0, parent_pid)
    with engine.connect() as conn:
        assert conn.execute(text(backend)).scalar_one() == parent_pid
    engine.dispose()

"""Store faults never break the task and never lose an event.

Each fault is real: a PostgreSQL database that does not exist yet, an SQLite file on a
filesystem remounted read-only, an SQLite lock held by another connection, a journal on a
64 KiB tmpfs, a process killed with SIGKILL.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import flowtrack
import flowtrack.testing
import pytest

from tests.core.faults import missing_pg_database, remount, run_python, tmpfs

pytestmark = pytest.mark.slow


def _journals(home: Path) -> list[Path]:
    return list((home / "spool").glob("*/*.journal"))


def test_store_down_then_back_delivers_everything_once(
    ft_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with missing_pg_database() as (uri, bring_up):
        flowtrack.set_tracking_uri(uri)
        with caplog.at_level(logging.WARNING, logger="flowtrack"):
            flowtrack.set_experiment("outage")
            with flowtrack.start_run(run_name="while-down") as run:
                flowtrack.log_params({"alpha": 0.5})
                for step in range(500):
                    flowtrack.log_metric("loss", 1 / (step + 1), step=step)
                flowtrack.set_tag("t", "v")
        assert "unavailable" in caplog.text
        flowtrack.testing.reset()  # the process "exits" with the store still down
        journals = _journals(ft_home)
        assert len(journals) == 1 and journals[0].stat().st_size > 0

        bring_up()
        # A later process delivers the journal the first one left behind.
        done = run_python(
            """
            import flowtrack
            flowtrack.log_metric("other", 1.0)
            flowtrack.end_run()
            """,
            {"FLOWTRACK_TRACKING_URI": uri},
        )
        assert done.returncode == 0, done.stderr
        assert _journals(ft_home) == []
        flowtrack.set_tracking_uri(uri)
        client = flowtrack.Client()
        got = client.get_run(run.info.run_id)
        assert got.info.status == "FINISHED"
        assert got.data.params == {"alpha": "0.5"} and got.data.tags["t"] == "v"
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [m.step for m in history] == list(range(500))
        assert client.get_experiment(got.info.experiment_id).name == "outage"
        assert _journals(ft_home) == []


def test_sync_command_delivers_left_journals(ft_home: Path) -> None:
    from click.testing import CliRunner
    from flowtrack.cli.main import cli

    with missing_pg_database() as (uri, bring_up):
        done = run_python(
            """
            import flowtrack
            with flowtrack.start_run(run_name="spooled") as run:
                flowtrack.log_metric("m", 1.0)
            print(run.info.run_id)
            """,
            {"FLOWTRACK_TRACKING_URI": uri, "FLOWTRACK_FLUSH_TIMEOUT": "1"},
        )
        assert done.returncode == 0, done.stderr
        assert (
            "will be delivered by the next flowtrack process or by `flowtrack sync`" in done.stderr
        )
        run_id = done.stdout.strip()
        runner = CliRunner()
        waiting = runner.invoke(cli, ["sync", "--dry-run"])
        assert "1 journal(s) waiting" in waiting.output
        failed = runner.invoke(cli, ["sync"])
        assert failed.exit_code == 1 and "were not delivered" in failed.output
        bring_up()
        ok = runner.invoke(cli, ["sync"])
        assert ok.exit_code == 0, ok.output
        assert "delivered 1" in ok.output
        flowtrack.set_tracking_uri(uri)
        assert flowtrack.Client().get_run(run_id).data.metrics == {"m": 1.0}
        assert runner.invoke(cli, ["sync"]).output.strip() == "Nothing to deliver."


def test_killed_process_loses_nothing_it_logged(ft_home: Path) -> None:
    done = run_python(
        """
        import os, signal, flowtrack
        flowtrack.start_run(run_name="doomed")
        run_id = flowtrack.active_run().info.run_id
        print(run_id, flush=True)
        for step in range(20000):
            flowtrack.log_metric("m", float(step), step=step)
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        {},
    )
    assert done.returncode == -9
    run_id = done.stdout.strip()
    # Whatever the writer thread delivered before the kill, the journal holds the rest.
    flowtrack.log_metric("trigger", 1.0)  # this process's writer replays orphan journals
    flowtrack.end_run()
    flowtrack.testing.reset()  # closing joins the writer, which finishes the replay
    assert _journals(ft_home) == []
    client = flowtrack.Client()
    history = client.get_metric_history(run_id, "m")
    assert [m.step for m in history] == list(range(20000))
    assert client.get_run(run_id).info.status == "RUNNING"  # it never ended; nothing invented


def test_slow_store_does_not_hold_the_task(ft_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWTRACK_FLUSH_TIMEOUT", "1")
    flowtrack.Client().search_experiments()  # create the database
    blocker = sqlite3.connect(ft_home / "flowtrack.db", timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds SQLite's lock
    try:
        started = time.monotonic()
        with flowtrack.start_run(run_name="slow") as run:
            for step in range(1000):
                flowtrack.log_metric("m", 1.0, step=step)
        elapsed = time.monotonic() - started
    finally:
        blocker.rollback()
        blocker.close()
    # The run's events wait in the journal; end_run gave up waiting after the flush timeout.
    assert elapsed < 10
    assert flowtrack.flush(timeout=60)
    assert len(flowtrack.Client().get_metric_history(run.info.run_id, "m")) == 1000


def test_read_only_store_spools_then_delivers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with tmpfs(tmp_path / "ro", "8m") as mount:
        uri = f"sqlite:///{mount / 'store.db'}"
        flowtrack.set_tracking_uri(uri)
        flowtrack.Client().search_experiments()  # create it while writable
        flowtrack.testing.reset()
        remount(mount, "ro")
        flowtrack.set_tracking_uri(uri)
        with caplog.at_level(logging.WARNING, logger="flowtrack"), flowtrack.start_run() as run:
            flowtrack.log_metric("m", 2.0)
        assert "unavailable" in caplog.text
        remount(mount, "rw")
        assert flowtrack.flush(timeout=30)
        assert flowtrack.Client().get_run(run.info.run_id).data.metrics == {"m": 2.0}
        flowtrack.testing.reset()


def test_full_spool_disk_keeps_events_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with tmpfs(tmp_path / "spool", "64k") as spool, missing_pg_database() as (uri, bring_up):
        monkeypatch.setenv("FLOWTRACK_SPOOL_DIR", str(spool))
        monkeypatch.setenv("FLOWTRACK_FLUSH_TIMEOUT", "1")
        flowtrack.set_tracking_uri(uri)
        with caplog.at_level(logging.WARNING, logger="flowtrack"):
            run = flowtrack.start_run(run_name="full-disk")
            for step in range(5000):  # ~500 KB of journal: far more than 64 KiB
                flowtrack.log_metric("m", float(step), step=step)
        assert "cannot write the event journal" in caplog.text
        assert "No space left on device" in caplog.text
        bring_up()
        flowtrack.end_run()
        assert flowtrack.flush(timeout=30)
        history = flowtrack.Client().get_metric_history(run.info.run_id, "m")
        assert [m.step for m in history] == list(range(5000))
        flowtrack.testing.reset()


def test_an_unreadable_journal_line_is_set_aside_and_blocks_nothing(ft_home: Path) -> None:
    """A journal damaged on disk: its good events and other journals are still delivered."""
    done = run_python(
        """
        import os, signal, flowtrack
        flowtrack.start_run(run_name="damaged")
        print(flowtrack.active_run().info.run_id, flush=True)
        flowtrack.flush()
        for step in range(3):
            flowtrack.log_metric("m", float(step), step=step)
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        {"FLOWTRACK_TRACKING_URI": "sqlite:////nonexistent-dir/x.db"},
    )
    assert done.returncode == -9
    run_id = done.stdout.strip()
    journal = next((ft_home / "spool").glob("*/*.journal"))
    lines = journal.read_bytes().rstrip(b"\x00").splitlines(keepends=True)
    lines.insert(2, b'{"op":"metric","key":"broken\n\n')  # a damaged line, newline-terminated
    journal.write_bytes(b"".join(lines))
    flowtrack.set_tracking_uri("sqlite:////nonexistent-dir/x.db")
    import os

    from flowtrack.tracking.delivery import Delivery

    os.makedirs("/nonexistent-dir", exist_ok=True)
    try:
        assert Delivery("sqlite:////nonexistent-dir/x.db", journal.parent).replay_orphans() == 1
        steps = [m.step for m in flowtrack.Client().get_metric_history(run_id, "m")]
        assert steps == [0, 1, 2]
        assert b"broken" in (journal.parent / "unreadable.jsonl").read_bytes()
    finally:
        flowtrack.testing.reset()
        import shutil

        shutil.rmtree("/nonexistent-dir", ignore_errors=True)


def test_events_beyond_the_memory_bound_are_delivered_from_the_journal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flowtrack.tracking import writer

    monkeypatch.setattr(writer, "MAX_IN_MEMORY", 100)  # past it, only the journal holds events
    with flowtrack.start_run() as run:
        for step in range(3000):
            flowtrack.log_metric("m", float(step), step=step)
    history = flowtrack.Client().get_metric_history(run.info.run_id, "m")
    assert [m.step for m in history] == list(range(3000))

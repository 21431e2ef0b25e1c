"""The store is down while an application runs; ``flowtrack sync`` delivers later, and closes
applications that ended without an end event as KILLED."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import flowtrack
import pytest
from click.testing import CliRunner
from flowtrack import config
from flowtrack.cli.main import cli
from flowtrack_spark import settings

from tests.conftest import PG_ADMIN_URI
from tests.spark.helpers import JOB, spark_env, submit, write_csv


@pytest.mark.postgres
def test_store_unreachable_during_the_job_then_sync_delivers(
    listener_jar: Path, tmp_path: Path
) -> None:
    from sqlalchemy import create_engine, text

    # A PostgreSQL database that does not exist yet: the store is unreachable during the job.
    name = f"flowtrack_spark_{uuid.uuid4().hex[:10]}"
    uri = PG_ADMIN_URI.rsplit("/", 1)[0] + f"/{name}"
    csv = write_csv(tmp_path / "sales.csv")
    out = tmp_path / "totals.parquet"
    job = tmp_path / "job.py"
    job.write_text(JOB)
    conf = settings.conf(listener_jar, experiment="etl", tracking_uri=uri)
    env = spark_env(FLOWTRACK_FLUSH_TIMEOUT="1")
    done = submit(conf, [str(job), str(csv), str(out)], env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "_SUCCESS").exists()
    # The helper ingested the spool into flowtrack's journal, which waits for the store.
    assert not list(settings.spool_dir().glob("*.jsonl"))
    assert list(config.spool_dir().glob("*/*.journal"))

    admin = create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        result = CliRunner().invoke(cli, ["sync"])
        assert result.exit_code == 0, result.output
        client = flowtrack.Client(uri)
        found = client.search_runs("etl", filter="attributes.source_type = 'spark'")
        (run,) = list(getattr(found, "items", found))
        assert run.info.status == "FINISHED"
        assert client.get_metric_history(run.info.run_id, "job.records_written")
        assert [v.uri for v in client.get_run_outputs(run.info.run_id)] == [str(out)]
    finally:
        from flowtrack.tracking.stores import forget_stores

        forget_stores()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _lines(pid: int, app_id: str = "local-1700000000000") -> list[dict[str, object]]:
    # The lines the listener writes (FlowtrackListener.java) for an application's start and
    # first job.
    return [
        {
            "e": "app_start",
            "appId": app_id,
            "at": 1700000000000,
            "name": "killed-app",
            "time": 1700000000000,
            "user": "me",
            "sparkVersion": "4.3.0",
            "params": {"spark.master": "local[2]"},
            "flowtrack": {"experiment": "etl"},
            "unknownKeys": [],
            "envRunId": None,
            "pid": pid,
        },
        {
            "e": "job",
            "appId": None,
            "at": 1700000005000,
            "jobId": 0,
            "succeeded": True,
            "durationMs": 900,
            "metrics": {"records_read": 10},
            "failedTasks": 0,
        },
    ]


def test_application_without_an_end_is_killed_at_sync() -> None:
    # An application whose JVM was killed after its first job: no app_end.
    folder = settings.spool_dir()
    folder.mkdir(parents=True)
    lines = _lines(_dead_pid())
    spool = folder / "local-1700000000000.jsonl"
    spool.write_text("".join(json.dumps(line) + "\n" for line in lines))

    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 0, result.output
    assert "local-1700000000000" in result.output
    client = flowtrack.Client()
    run_id = settings.app_run_id(client.tracking_uri, "local-1700000000000")
    run = client.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.info.end_time == 1700000005000
    assert "without an application end event" in run.data.tags["flowtrack.error"]
    assert [m.value for m in client.get_metric_history(run_id, "job.records_read")] == [10]
    assert not spool.exists()
    # A second sync finds nothing left.
    again = CliRunner().invoke(cli, ["sync"])
    assert "local-1700000000000" not in again.output


def test_the_helper_follows_the_spool_until_the_end_or_the_jvm_is_gone() -> None:
    """``ingest --follow``'s loop: what the listener appends is ingested while the JVM lives;
    the end line ends it; a JVM that dies without one ends it too (woken by the JVM's exit,
    not a poll), and leaves the spool for ``flowtrack sync`` to close. The "JVM" is a sleeping
    process whose command line names java (``alive`` checks that)."""
    import sys
    import threading

    from flowtrack_spark import ingest

    client = flowtrack.Client()
    folder = settings.spool_dir()
    folder.mkdir(parents=True)
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)", "java"]
    for app_id, ending in (("local-1", "end line"), ("local-2", "jvm exit")):
        run_id = settings.app_run_id(client.tracking_uri, app_id)
        spool = folder / f"{app_id}.jsonl"
        jvm = subprocess.Popen(sleeper)
        try:
            first, job = _lines(jvm.pid, app_id)
            spool.write_text(json.dumps(first) + "\n")
            done: list[ingest.Progress | None] = []
            follower = threading.Thread(
                target=lambda s=spool, p=jvm.pid, out=done: out.append(ingest.follow(s, p))
            )
            follower.start()
            with spool.open("a") as f:
                f.write(json.dumps(job) + "\n")
            if ending == "end line":
                end = {"e": "app_end", "appId": None, "at": 1700000009000, "time": 1700000009000}
                with spool.open("a") as f:
                    f.write(json.dumps(end | {"dropped": 0, "shipped": 3}) + "\n")
            else:
                jvm.kill()
            follower.join(60)
            assert not follower.is_alive() and done and done[0] is not None
        finally:
            jvm.kill()
            jvm.wait()
        progress = done[0]
        run = client.get_run(run_id)
        if ending == "end line":
            assert progress.ended and run.info.status == "FINISHED" and not spool.exists()
            assert run.info.end_time == 1700000009000
        else:
            assert not progress.ended and run.info.status == "RUNNING" and spool.exists()
        assert [m.value for m in client.get_metric_history(run_id, "job.records_read")] == [10]

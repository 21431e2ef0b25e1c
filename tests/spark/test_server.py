"""An application whose ``spark.flowtrack.trackingUri`` is a flowtrack server (a real
``flowtrack server`` process, one per module) is recorded on that server; and a listener
queue too small for the application's events drops them, counts the drops on the run, and
never holds Spark up. One in-process Spark JVM for the module: two applications in turn.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flowtrack
import pytest
from flowtrack_spark import app_run_id, configure

from tests.conftest import missing
from tests.core.serverfixtures import Server, running_server
from tests.spark.helpers import spark_env, wait_for, write_csv

pytestmark = [
    pytest.mark.slow,
    # PySpark 4.3 warns about pandas 3 (pinned for the core) on every conversion.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
]


@dataclass
class Env:
    server: Server
    folder: Path


@pytest.fixture(scope="module")
def env(listener_jar: Path) -> Iterator[Env]:
    folder = Path(tempfile.mkdtemp(prefix="flowtrack-spark-server-"))
    saved = dict(os.environ)
    with running_server(folder / "server") as server:
        # What the JVM and its ingest helper inherit: no tracking URI of their own (the conf
        # key names the server), a home of their own for the spool and journal.
        os.environ.update(spark_env(FLOWTRACK_HOME=str(folder / "home")))
        os.environ.pop("FLOWTRACK_TRACKING_URI", None)
        os.environ.pop("FLOWTRACK_RUN_ID", None)
        os.environ["FLOWTRACK_SPARK_CACHE"] = str(listener_jar.parent)
        try:
            yield Env(server, folder)
        finally:
            _stop_jvm()
            os.environ.clear()
            os.environ.update(saved)


def _forget_flowtrack_options() -> None:
    """PySpark keeps a builder's options as system properties of the driver's JVM, and every
    later session in the process inherits them: drop this module's (the server's URI, a tiny
    queue) so that the next session, here or in another module, starts without them."""
    from pyspark import SparkContext

    jvm = SparkContext._jvm
    if jvm is None:
        return
    names = [str(n) for n in jvm.System.getProperties().stringPropertyNames()]
    for name in names:
        if name.startswith("spark.flowtrack."):
            jvm.System.clearProperty(name)


def _stop_jvm() -> None:
    """End this module's JVM: it keeps the environment it started with (no tracking URI,
    this module's home), which a later module's session in this process must not inherit."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is None:
        return
    gateway.shutdown()
    proc = getattr(gateway, "proc", None)
    if proc is not None:
        proc.stdin.close()  # the gateway JVM exits when its stdin closes
        proc.wait(timeout=60)
    SparkContext._gateway = None
    SparkContext._jvm = None


def session(env: Env, name: str, **extra: str) -> Any:
    from pyspark.sql import SparkSession

    _forget_flowtrack_options()
    builder = SparkSession.builder.master("local[2]").appName(name)
    builder = configure(
        builder.config("spark.ui.enabled", "false"),
        experiment="on-server",
        tracking_uri=env.server.url,
    )
    for key, value in extra.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def ended_run(client: Any, run_id: str) -> Any:
    def ended() -> Any:
        try:
            run = client.get_run(run_id)
        except Exception:  # not on the server yet
            return None
        return run if run.info.status != "RUNNING" else None

    return wait_for(ended, timeout=90, what=f"run {run_id} to end on the server")


def test_application_is_recorded_on_the_server(env: Env) -> None:
    spark = session(env, "to-server")
    csv = write_csv(env.folder / "in.csv")
    out = env.folder / "out.parquet"
    try:
        conf = spark.sparkContext.getConf()
        assert conf.get("spark.flowtrack.trackingUri") == env.server.url
        run_id = app_run_id(env.server.url, spark.sparkContext.applicationId)
        df = spark.read.option("header", True).option("inferSchema", True).csv(str(csv))
        df.groupBy("city").sum("amount").write.mode("overwrite").parquet(str(out))
    finally:
        spark.stop()

    client = flowtrack.Client(env.server.url)
    run = ended_run(client, run_id)
    assert run.info.status == "FINISHED"
    assert run.info.source_type == "spark"
    assert run.info.run_name == "to-server"
    assert run.data.tags["spark.app_name"] == "to-server"
    experiment = client.get_experiment_by_name("on-server")
    assert experiment is not None and run.info.experiment_id == experiment.experiment_id
    written = client.get_metric_history(run_id, "job.records_written")
    assert sum(m.value for m in written) == 3  # three cities
    assert client.get_metric_history(run_id, "stage.tasks")
    assert [v.uri for v in client.get_run_inputs(run_id)] == [str(csv)]
    outputs = client.get_run_outputs(run_id)
    assert [v.uri for v in outputs] == [str(out)]
    assert outputs[0].digest.endswith(".dir") and outputs[0].file_count >= 2
    assert outputs[0].created_by_run_id == run_id
    assert run.data.tags["spark.events_dropped"] == "0"


def _suspend_shipper(spark: Any) -> Any:
    """Stall the listener's shipper thread as a slow or hung disk would: suspended while it
    waits for events (inside the queue's timed wait, holding no lock), so the listener bus's
    offers find the queue full. ``Thread.suspend`` still works on Java 17-19."""
    jvm = spark.sparkContext._jvm
    for _ in range(200):
        threads = [
            t
            for t in jvm.java.lang.Thread.getAllStackTraces().keySet()
            if t.getName() == "flowtrack-spark-shipper" and t.isAlive()
        ]
        assert len(threads) == 1, "the listener's shipper thread is not running"
        thread = threads[0]
        try:
            thread.suspend()
        except Exception as exc:  # Java 20+: suspend is gone
            missing(f"this JVM cannot suspend a thread to stall the shipper (Java 17 can): {exc}")
        frames = [str(f) for f in thread.getStackTrace()]
        if str(thread.getState()) == "TIMED_WAITING" and any("parkNanos" in f for f in frames):
            return thread
        thread.resume()  # caught it busy (maybe holding the queue's lock): try again
    raise AssertionError("could not catch the shipper thread idle")


def test_full_queue_drops_and_counts_and_spark_runs_on(env: Env) -> None:
    spark = session(env, "tiny-queue", **{"spark.flowtrack.queueSize": "1"})
    try:
        run_id = app_run_id(env.server.url, spark.sparkContext.applicationId)
        assert spark.range(5).count() == 5  # the start event is shipped before the stall
        shipper = _suspend_shipper(spark)
        try:
            # The shipper takes nothing now: the queue holds one event, every other one is
            # dropped, and Spark's jobs run on without waiting for it.
            counts = [spark.range(i + 1).repartition(3).count() for i in range(10)]
        finally:
            shipper.resume()
    finally:
        spark.stop()
    assert counts == list(range(1, 11))

    client = flowtrack.Client(env.server.url)
    run = ended_run(client, run_id)  # the end event is never dropped
    assert run.info.status == "FINISHED"
    dropped = int(run.data.tags["spark.events_dropped"])
    shipped = int(run.data.tags["spark.events_shipped"])
    # Each job gives a stage, a job and a query event at least: 30 offered, one queued.
    assert dropped >= 20
    assert shipped >= 3  # the start, the first job's events, the queued one, the end


def test_driver_exception_outside_a_job_fails_the_run(env: Env) -> None:
    # configure() installed flowtrack's hook: an uncaught exception in the driver, after
    # its jobs succeeded, reaches the listener before the JVM stops the context. Calling
    # sys.excepthook is what the interpreter does with such an exception.
    spark = session(env, "driver-fails")
    try:
        run_id = app_run_id(env.server.url, spark.sparkContext.applicationId)
        assert spark.range(3).count() == 3
        error = ValueError("the driver gave up after its jobs")
        sys.excepthook(ValueError, error, None)
    finally:
        spark.stop()

    run = ended_run(flowtrack.Client(env.server.url), run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["flowtrack.error"] == "ValueError: the driver gave up after its jobs"

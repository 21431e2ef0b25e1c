"""``flowtrack_spark.configure(SparkSession.builder)`` in a PySpark driver: one JVM for the
module. The driver starts with FLOWTRACK_RUN_ID set (as an Airflow or Prefect task would
start it), logs a metric of its own, reads a CSV and writes Parquet; the run is checked
while the application runs (the helper ingests live) and after ``spark.stop()``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flowtrack
import pytest
from flowtrack_spark import app_run_id, configure

from tests.spark.helpers import spark_env, wait_for, write_csv

pytestmark = [
    pytest.mark.slow,
    # PySpark 4.3 warns about pandas 3 (pinned for the core) on every conversion.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


class App:
    def __init__(self, spark: Any, uri: str, parent: str, folder: Path) -> None:
        self.spark, self.uri, self.parent, self.folder = spark, uri, parent, folder
        self.run_id = app_run_id(uri, spark.sparkContext.applicationId)


@pytest.fixture(scope="module")
def app(listener_jar: Path) -> Iterator[App]:
    from pyspark.sql import SparkSession

    folder = Path(tempfile.mkdtemp(prefix="flowtrack-spark-session-"))
    uri = f"sqlite:///{folder / 'flowtrack.db'}"
    saved = dict(os.environ)
    # This fixture starts before the per-test home (ft_home): its own, not the user's.
    os.environ["FLOWTRACK_HOME"] = str(folder / "home")
    flowtrack.set_tracking_uri(uri)
    with flowtrack.start_run(run_name="airflow task") as parent:
        parent_id = parent.info.run_id
    flowtrack.set_tracking_uri(None)
    # What the JVM (and the ingest helper it starts) inherits: the parent run, this module's
    # store. The per-test fixtures reset FLOWTRACK_* later; the JVM keeps what it started with.
    os.environ.update(spark_env(FLOWTRACK_TRACKING_URI=uri, FLOWTRACK_RUN_ID=parent_id))
    os.environ["FLOWTRACK_SPARK_CACHE"] = str(listener_jar.parent)
    builder = SparkSession.builder.master("local[2]").appName("session-app")
    builder = configure(builder.config("spark.ui.enabled", "false"), experiment="sessions")
    spark = builder.config("spark.flowtrack.nonsense", "1").getOrCreate()
    try:
        yield App(spark, uri, parent_id, folder)
    finally:
        spark.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def _driver_env(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    # The driver process as the task started it (ft_home dropped these for the test).
    monkeypatch.setenv("FLOWTRACK_TRACKING_URI", app.uri)
    monkeypatch.setenv("FLOWTRACK_RUN_ID", app.parent)


def test_builder_gets_the_listener(app: App) -> None:
    conf = app.spark.sparkContext.getConf()
    assert conf.get("spark.extraListeners") == "dev.flowtrack.spark.FlowtrackListener"
    assert Path(conf.get("spark.jars")).is_file()


def test_driver_metric_lands_in_the_application_run(app: App) -> None:
    flowtrack.log_metric("rows_expected", 50)
    assert flowtrack.flush()
    client = flowtrack.Client(app.uri)
    run = client.get_run(app.run_id)
    assert run.info.source_type == "spark"
    assert run.info.parent_run_id == app.parent
    assert run.data.metrics["rows_expected"] == 50
    # The parent (the task's run) did not get the driver's metric.
    assert "rows_expected" not in client.get_run(app.parent).data.metrics


def test_reads_and_writes_arrive_while_the_application_runs(app: App) -> None:
    csv = write_csv(app.folder / "in.csv")
    out = app.folder / "out.parquet"
    df = app.spark.read.option("header", True).csv(str(csv))
    df.write.mode("overwrite").parquet(str(out))
    client = flowtrack.Client(app.uri)
    outputs = wait_for(lambda: client.get_run_outputs(app.run_id), what="the Parquet output")
    assert [v.uri for v in outputs] == [str(out)]
    assert [v.uri for v in client.get_run_inputs(app.run_id)] == [str(csv)]
    run = client.get_run(app.run_id)
    assert run.info.status == "RUNNING"
    assert "spark.flowtrack.nonsense" in run.data.tags["flowtrack.spark.warning"]
    experiment = client.get_experiment_by_name("sessions")
    assert experiment is not None and run.info.experiment_id == experiment.experiment_id


def test_spark_ml_model_is_logged_registered_and_loaded_back(app: App) -> None:
    import flowtrack.models
    import pandas as pd
    from flowtrack_spark import log_model
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler

    rows = [(float(x), float(x % 3), 1.0 if x > 10 else 0.0) for x in range(24)]
    train = app.spark.createDataFrame(rows, ["tenure", "calls", "label"])
    pipeline = Pipeline(
        stages=[
            VectorAssembler(inputCols=["tenure", "calls"], outputCol="features"),
            LogisticRegression(maxIter=20),
        ]
    )
    model = pipeline.fit(train)
    info = log_model(model, "model", registered_model_name="churn")
    assert getattr(info.registered_model_version, "version", None) == 1
    assert info.run_id == app.run_id  # the driver's call landed in the application's run

    loaded = flowtrack.models.load_model("models:/churn/1")
    frame = pd.DataFrame({"tenure": [1.0, 5.0, 20.0, 23.0], "calls": [0.0, 2.0, 1.0, 2.0]})
    expected = model.transform(app.spark.createDataFrame(frame)).toPandas()["prediction"]
    assert list(loaded.predict(frame)) == list(expected)
    assert list(expected) == [0.0, 0.0, 1.0, 1.0]


def test_stop_finishes_the_run(app: App) -> None:
    run_id = app.run_id
    app.spark.stop()
    client = flowtrack.Client(app.uri)

    def finished() -> bool:
        return client.get_run(run_id).info.status == "FINISHED"

    wait_for(finished, what="the application run to finish")
    assert client.get_metric_history(run_id, "job.records_written")


def test_a_second_application_in_the_same_jvm_is_its_own_run(app: App) -> None:
    from pyspark.sql import SparkSession

    first = app.run_id
    app.spark.stop()  # already stopped by the test before when run in order; harmless
    builder = SparkSession.builder.master("local[2]").appName("second-app")
    spark = configure(builder.config("spark.ui.enabled", "false"), experiment="sessions")
    second = spark.getOrCreate()
    second_id = app_run_id(app.uri, second.sparkContext.applicationId)
    assert second_id != first
    assert second.range(100).count() == 100
    second.stop()
    client = flowtrack.Client(app.uri)

    def finished() -> bool:
        try:
            return client.get_run(second_id).info.status == "FINISHED"
        except Exception:  # not in the store yet
            return False

    wait_for(finished, what="the second application's run")
    assert client.get_run(second_id).info.run_name == "second-app"
    assert client.get_metric_history(second_id, "job.tasks")

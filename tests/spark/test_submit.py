"""spark-submit with the conf lines only: a job that knows nothing about flowtrack is a run.

Each test here is a real ``spark-submit --master local[2]`` (a JVM each, ~10-15 s), so there
are few of them. spark-submit returns once the listener's ingest helper is done: the helper
shares the JVM's stderr, which the test reads to its end.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import flowtrack
from flowtrack_spark import jar, settings

from tests.spark.helpers import FAILING_JOB, JOB, submit, write_csv


def _conf(jar: Path, **extra: str) -> dict[str, str]:
    return {**settings.conf(jar, experiment="etl"), **extra}


def _app_run(client: flowtrack.Client, experiment: str = "etl") -> list[flowtrack.entities.Run]:
    found = client.search_runs(experiment, filter="attributes.source_type = 'spark'")
    return list(getattr(found, "items", found))


def test_csv_to_parquet_is_one_run_with_metrics_and_versions(
    listener_jar: Path, tmp_path: Path
) -> None:
    csv = write_csv(tmp_path / "sales.csv")
    out = tmp_path / "totals.parquet"
    job = tmp_path / "job.py"
    job.write_text(JOB)

    secrets = {
        "spark.hadoop.fs.s3a.secret.key": "hunter2",
        "spark.executor.memory": "1g",
        # Asked for as params: the memory is recorded, the secret never is.
        "spark.flowtrack.params": "spark.executor.memory,spark.hadoop.fs.s3a.secret.key",
    }
    first = submit(_conf(listener_jar, **secrets), [str(job), str(csv), str(out)])
    assert first.returncode == 0, first.stderr[-3000:]
    assert (out / "_SUCCESS").exists()

    client = flowtrack.Client()
    runs = _app_run(client)
    assert len(runs) == 1
    run = client.get_run(runs[0].info.run_id)
    assert run.info.status == "FINISHED", run.data.tags
    assert run.info.run_name == "csv-to-parquet"
    tags = run.data.tags
    assert tags["spark.version"] == "4.3.0"
    assert tags["spark.master"] == "local[2]"
    assert tags["spark.app_id"].startswith("local-")
    assert tags["spark.events_dropped"] == "0"
    assert run.info.run_id == settings.app_run_id(client.tracking_uri, tags["spark.app_id"])
    assert run.data.params["spark.master"] == "local[2]"
    assert "spark.flowtrack.python" not in run.data.params
    assert run.data.params["spark.executor.memory"] == "1g"
    assert "hunter2" not in repr(run.data.params) + repr(run.data.tags)

    # Jobs and stages as metrics, the job or stage id as step.
    written = client.get_metric_history(run.info.run_id, "job.records_written")
    assert sum(m.value for m in written) == 3  # three cities
    stages = client.get_metric_history(run.info.run_id, "stage.tasks")
    assert stages and all(m.value >= 1 for m in stages)
    assert len({m.step for m in stages}) == len(stages)
    read = client.get_metric_history(run.info.run_id, "stage.records_read")
    assert max(m.value for m in read) >= 50
    assert client.get_metric_history(run.info.run_id, "job.duration_ms")

    # The CSV is the input, the Parquet folder the output, each with a content version.
    inputs = client.get_run_inputs(run.info.run_id)
    outputs = client.get_run_outputs(run.info.run_id)
    assert [v.uri for v in inputs] == [str(csv)]
    assert [v.uri for v in outputs] == [str(out)]
    assert outputs[0].digest.endswith(".dir") and outputs[0].file_count >= 2
    assert "city" in "".join(v for k, v in tags.items() if k.startswith("spark.query."))

    # The same data read by a second application, in Java (compiled here; the listener is
    # language-agnostic): a new run, tracked the same way, with the same input version.
    app_jar = _java_job(tmp_path)
    again_out = tmp_path / "again.parquet"
    second = submit(
        _conf(listener_jar), ["--class", "CsvToParquet", str(app_jar), str(csv), str(again_out)]
    )
    assert second.returncode == 0, second.stderr[-3000:]
    runs = _app_run(client)
    assert len(runs) == 2
    other = client.get_run(next(r for r in runs if r.info.run_id != run.info.run_id).info.run_id)
    assert other.info.status == "FINISHED"
    assert other.info.run_name == "java-csv-to-parquet"
    assert (
        sum(m.value for m in client.get_metric_history(other.info.run_id, "job.records_written"))
        == 3
    )
    again = client.get_run_inputs(other.info.run_id)
    assert [v.version_id for v in again] == [inputs[0].version_id]
    assert [v.uri for v in client.get_run_outputs(other.info.run_id)] == [str(again_out)]


JAVA_JOB = """
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

public class CsvToParquet {
  public static void main(String[] args) {
    SparkSession spark = SparkSession.builder().appName("java-csv-to-parquet").getOrCreate();
    Dataset<Row> df = spark.read().option("header", "true").option("inferSchema", "true")
        .csv(args[0]);
    df.groupBy("city").sum("amount").write().mode("overwrite").parquet(args[1]);
    spark.stop();
  }
}
"""


def _java_job(folder: Path) -> Path:
    """A Spark application in Java that knows nothing about flowtrack, compiled into a jar."""
    src = folder / "java-src"
    classes = folder / "java-classes"
    src.mkdir()
    (src / "CsvToParquet.java").write_text(JAVA_JOB)
    javac = jar.find_javac()
    classpath = str(jar.spark_home() / "jars" / "*")
    cmd = [javac, "-nowarn", "-cp", classpath, "-d", str(classes), str(src / "CsvToParquet.java")]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    app_jar = folder / "app.jar"
    with zipfile.ZipFile(app_jar, "w") as out:
        out.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
        out.write(classes / "CsvToParquet.class", "CsvToParquet.class")
    return app_jar


def test_failing_job_marks_the_run_failed_and_keeps_the_exit_code(
    listener_jar: Path, tmp_path: Path
) -> None:
    job = tmp_path / "failing.py"
    job.write_text(FAILING_JOB)
    done = submit(_conf(listener_jar), [str(job)])
    assert done.returncode == 7, done.stderr[-3000:]
    assert "job failed as planned" in done.stdout

    client = flowtrack.Client()
    (run,) = _app_run(client)
    run = client.get_run(run.info.run_id)
    assert run.info.status == "FAILED"
    assert "the data is bad" in run.data.tags["flowtrack.error"]
    succeeded = client.get_metric_history(run.info.run_id, "job.succeeded")
    assert [m.value for m in succeeded] == [0.0]


def test_bad_config_is_reported_and_spark_still_runs(listener_jar: Path, tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "sales.csv")
    out = tmp_path / "out.parquet"
    job = tmp_path / "job.py"
    job.write_text(JOB)
    conf = _conf(
        listener_jar,
        **{"spark.flowtrack.trackingUrl": "oops", "spark.flowtrack.trackingUri": "bogus://x/y"},
    )
    done = submit(conf, [str(job), str(csv), str(out)])
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "_SUCCESS").exists()
    assert "unknown Spark conf key spark.flowtrack.trackingUrl" in done.stderr
    assert "spark.flowtrack.trackingUri" in done.stderr and "bogus://x/y" in done.stderr
    assert "'bogus'" in done.stderr  # the scheme no store handles
    # Nothing went to flowtrack's own store; the spool is kept for a fixed config.
    assert flowtrack.Client().get_experiment_by_name("etl") is None
    assert list(settings.spool_dir().glob("*.jsonl"))

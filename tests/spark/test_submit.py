"""spark-submit with the conf lines only: a job that knows nothing about flowtrack is a run.

Each test here is a real ``spark-submit --master local[2]`` (a JVM each, ~10-15 s), so there
are few of them. spark-submit returns once the listener's ingest helper is done: the helper
shares the JVM's stderr, which the test reads to its end.
"""

from __future__ import annotations

from pathlib import Path

import flowtrack
from flowtrack_spark import settings

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

    first = submit(_conf(listener_jar), [str(job), str(csv), str(out)])
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

    # Same data, second application: a new run, the same input version.
    second = submit(_conf(listener_jar), [str(job), str(csv), str(tmp_path / "again.parquet")])
    assert second.returncode == 0, second.stderr[-3000:]
    runs = _app_run(client)
    assert len(runs) == 2
    other = next(r for r in runs if r.info.run_id != run.info.run_id)
    again = client.get_run_inputs(other.info.run_id)
    assert [v.version_id for v in again] == [inputs[0].version_id]


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

"""Real DAG runs with `dag.test()` in the test process: DAG runs and task instances as runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.airflow.helpers import dag_run, load_dag, load_module, runs_of, tasks_of

pytestmark = pytest.mark.slow


def test_three_task_dag_is_one_run_tree() -> None:
    dag = load_dag("ft_three_tasks")
    result = dag.test(run_conf={"source": "s3://bucket/x", "nested": {"k": 1}})
    assert str(result.state) in ("success", "DagRunState.SUCCESS")
    runs = runs_of("ft_three_tasks")
    top = dag_run(runs, result.run_id)
    assert top.info.status == "FINISHED"
    assert top.info.source_type == "airflow"
    assert top.info.source_ref == {"dag_id": "ft_three_tasks", "run_id": result.run_id}
    assert top.data.params == {"source": "s3://bucket/x", "nested.k": "1"}
    assert top.data.tags["airflow.state"] == "success"
    # dag.test() fires no on_dag_run_running: the first task made the DAG run's run.
    assert top.data.tags["airflow.created_by"] == "on_task_instance_running"
    assert top.data.tags["airflow.ui_url"].startswith(
        "http://airflow.test:8080/dags/ft_three_tasks/runs/manual__"
    )
    tasks = tasks_of(runs, top)
    assert sorted(tasks) == ["extract", "load", "transform"]
    assert len(runs) == 4
    extract = tasks["extract"]
    assert extract.info.status == "FINISHED"
    assert extract.data.metrics == {"rows": 3.0}  # logged in the task with no run handling
    assert extract.data.params["alpha"] == "0.5"
    tags = extract.data.tags
    assert tags["airflow.try_number"] == "1" and tags["airflow.map_index"] == "-1"
    assert tags["airflow.state"] == "success"
    assert tags["airflow.operator"] == "_PythonDecoratedOperator"
    assert float(tags["airflow.duration_s"]) >= 0
    assert tags["airflow.ui_url"].endswith("/tasks/extract?try_number=1")
    assert extract.info.source_ref["task_id"] == "extract"
    for run in tasks.values():
        assert run.info.end_time is not None and run.info.end_time >= run.info.start_time


def test_retries_are_tries_of_one_run() -> None:
    dag = load_dag("ft_retries")
    result = dag.test()
    assert "failed" in str(result.state).lower()
    runs = runs_of("ft_retries")
    top = dag_run(runs, result.run_id)
    assert top.info.status == "FAILED"
    tasks = tasks_of(runs, top)
    assert sorted(tasks) == ["broken", "flaky"]
    assert len(runs) == 3  # one run per task instance, however many tries
    flaky = tasks["flaky"]
    assert flaky.info.status == "FINISHED"
    assert flaky.data.tags["airflow.try_number"] == "2"
    assert flaky.data.tags["airflow.state"] == "success"
    assert flaky.data.metrics == {"attempt": 2.0}
    assert "flowtrack.error" not in flaky.data.tags  # the first try's, removed on the second
    broken = tasks["broken"]
    assert broken.info.status == "FAILED"
    assert broken.data.tags["airflow.try_number"] == "2"
    assert broken.data.tags["airflow.state"] == "failed"
    assert broken.data.tags["flowtrack.error"] == "ValueError: always broken"


def test_mapped_task_and_bash_subprocess_land_in_their_runs() -> None:
    result = load_dag("ft_mapped_bash").test()
    assert "success" in str(result.state).lower()
    runs = runs_of("ft_mapped_bash")
    top = dag_run(runs, result.run_id)
    children = [r for r in runs if r.info.parent_run_id == top.info.run_id]
    mapped = sorted(
        (r for r in children if r.data.tags["airflow.task_id"] == "square"),
        key=lambda r: int(r.data.tags["airflow.map_index"]),
    )
    assert [r.info.run_name for r in mapped] == ["square[0]", "square[1]", "square[2]"]
    assert [r.data.metrics for r in mapped] == [{"x": 1.0}, {"x": 2.0}, {"x": 3.0}]
    assert mapped[1].data.tags["airflow.ui_url"].endswith("/tasks/square/mapped/1?try_number=1")
    (script,) = [r for r in children if r.data.tags["airflow.task_id"] == "script"]
    assert script.data.tags["airflow.operator"] == "BashOperator"
    # The script ran in a subprocess and logged into the task's run through the environment.
    assert script.data.metrics == {"from_bash": 7.0}
    assert len(runs) == 5


def test_assets_become_versioned_outputs_and_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flowtrack

    monkeypatch.setenv("FT_TEST_ASSET_DIR", str(tmp_path))
    result = load_dag("ft_assets").test()
    assert "success" in str(result.state).lower()
    runs = runs_of("ft_assets")
    tasks = tasks_of(runs, dag_run(runs, result.run_id))
    assert {t.info.status for t in tasks.values()} == {"FINISHED"}
    client = flowtrack.Client()
    (written,) = client.get_run_outputs(tasks["produce"].info.run_id)
    (read,) = client.get_run_inputs(tasks["consume"].info.run_id)
    assert written.name == f"features@{tmp_path.name}"  # the asset's name
    assert written.uri == str(tmp_path / "features.csv")
    assert read.version_id == written.version_id  # the same content: one version
    producer = client.get_producer(tmp_path / "features.csv")
    assert producer is not None and producer.info.run_id == tasks["produce"].info.run_id


def test_scheduler_side_hooks_with_orm_objects_meet_the_same_runs() -> None:
    """The scheduler's hooks get ORM objects (DagRun, TaskInstance) and run in another process
    than the tasks: fed the ORM objects of a finished run, they find the same runs by id."""
    from flowtrack_airflow import listener

    result = load_dag("ft_three_tasks").test()
    runs = runs_of("ft_three_tasks")
    top = dag_run(runs, result.run_id)
    # A cleared DAG run: the scheduler's on_dag_run_running puts the run back to RUNNING.
    listener.on_dag_run_running(dag_run=result, msg="")
    assert dag_run(runs_of("ft_three_tasks"), result.run_id).info.status == "RUNNING"
    # An executor-reported failure: on_task_instance_failed with the ORM row, in a process
    # that never saw the task start.
    (orm_load,) = [ti for ti in result.get_task_instances() if ti.task_id == "load"]
    assert type(orm_load).__module__.startswith("airflow.models")
    orm_load.state = "failed"
    listener.on_task_instance_failed(
        previous_state=None, task_instance=orm_load, error="Executor reported it failed"
    )
    # The first try's start, delivered late (its process was killed before its writer sent
    # it; its journal replayed after the scheduler's report), leaves the run FAILED.
    listener.on_task_instance_running(previous_state=None, task_instance=orm_load)
    listener.on_dag_run_failed(dag_run=result, msg="task_failure")
    after = runs_of("ft_three_tasks")
    assert len(after) == len(runs) == 4  # no new runs: the same ids
    load = tasks_of(after, top)["load"]
    assert load.info.status == "FAILED"
    assert load.data.tags["flowtrack.error"] == "Executor reported it failed"
    assert load.data.tags["airflow.state"] == "failed"
    top_after = dag_run(after, result.run_id)
    assert top_after.info.status == "FAILED"
    assert top_after.data.tags["flowtrack.error"] == "task_failure"


def test_an_airflow_example_dag_runs_unchanged_and_is_recorded() -> None:
    """Airflow's own TaskFlow tutorial DAG, as shipped, with the plugin installed."""
    example = load_module("tutorial_taskflow_api")
    result = example.tutorial_taskflow_api().test()
    assert "success" in str(result.state).lower()
    runs = runs_of("tutorial_taskflow_api")
    tasks = tasks_of(runs, dag_run(runs, result.run_id))
    assert sorted(tasks) == ["extract", "load", "transform"]
    assert {t.info.status for t in tasks.values()} == {"FINISHED"}

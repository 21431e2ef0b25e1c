"""A real DAG run (`dag.test()`) as the web UI's Pipelines page draws it: each task instance's
run carries its upstream task ids (`airflow.upstream`), and the pipeline graph's edges are the
DAG's."""

from __future__ import annotations

import flowtrack
import pytest
from flowtrack.ui import pipelines

from tests.airflow.helpers import dag_run, load_dag, runs_of, tasks_of

pytestmark = pytest.mark.slow


def test_dag_run_graph_has_the_dags_edges() -> None:
    result = load_dag("ft_three_tasks").test()
    assert "success" in str(result.state).lower()
    runs = runs_of("ft_three_tasks")
    top = dag_run(runs, result.run_id)
    tasks = tasks_of(runs, top)
    assert tasks["transform"].data.tags["airflow.upstream"] == "extract"
    assert tasks["load"].data.tags["airflow.upstream"] == "transform"
    assert "airflow.upstream" not in tasks["extract"].data.tags  # no upstream task

    found = pipelines.pipeline(flowtrack.Client().store, top.info.run_id)
    assert found["edges_from"] == "recorded"
    names = {t["run_id"]: t["task"] for t in found["tasks"]}
    assert {(names[e["source"]], names[e["target"]]) for e in found["edges"]} == {
        ("extract", "transform"),
        ("transform", "load"),
    }
    assert {t["state"] for t in found["tasks"]} == {"success"}
    assert found["run"]["name"] == "ft_three_tasks" and found["run"]["state"] == "success"
    listed = pipelines.pipeline_runs(flowtrack.Client().store, source="airflow")
    assert top.info.run_id in {p["run_id"] for p in listed["pipelines"]}

"""Running the test DAGs and reading what they recorded."""

from __future__ import annotations

import importlib.util
from typing import Any

import flowtrack
from flowtrack.entities import Run

from tests.airflow.conftest import DAGS


def load_module(name: str) -> Any:
    """The module <name>.py of the session's DAGs folder (tests/airflow/dags and examples)."""
    spec = importlib.util.spec_from_file_location(f"ft_test_dags.{name}", DAGS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_dag(dag_id: str) -> Any:
    """The DAG object of tests/airflow/dags/<dag_id>.py."""
    return load_module(dag_id).DAG


def runs_of(experiment: str) -> list[Run]:
    flowtrack.flush()
    return list(flowtrack.Client().search_runs(experiment, max_results=1000).items)


def dag_run(runs: list[Run], run_id: str) -> Run:
    found = [
        r
        for r in runs
        if r.data.tags.get("airflow.run_id") == run_id and "airflow.task_id" not in r.data.tags
    ]
    assert len(found) == 1, [(r.info.run_name, r.data.tags) for r in runs]
    return found[0]


def tasks_of(runs: list[Run], parent: Run) -> dict[str, Run]:
    children = [r for r in runs if r.info.parent_run_id == parent.info.run_id]
    return {r.data.tags["airflow.task_id"]: r for r in children}

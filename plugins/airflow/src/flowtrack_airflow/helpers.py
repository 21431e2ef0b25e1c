"""The operators' steps as plain functions, for use inside ``@task`` (or any Python callable)::

    from airflow.sdk import task
    from flowtrack_airflow import helpers

    @task
    def publish(model_uri: str) -> int:
        return helpers.register_model(model_uri, "churn", alias="champion")["version"]

Each logs into the task's run (a run of its own when the DAG is not recorded) and raises
`flowtrack_airflow.steps.StepError` (an ``AirflowFailException``) naming the argument and the
value on bad input, before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowtrack_airflow.steps import StepError
from flowtrack_airflow.steps import data as _data
from flowtrack_airflow.steps import metrics as _metrics
from flowtrack_airflow.steps import models as _models

__all__ = ["StepError", "log_metrics", "register_model", "version_data"]


def register_model(
    model_uri: Any,
    name: str,
    alias: str | None = None,
    stage: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """As `RegisterModelOperator`: returns ``{"name", "version", "model_uri", "source",
    "run_id"}``."""
    return _models.register_model(
        model_uri, name, alias, stage, tags, description, step="register_model"
    )


def version_data(
    path: Any,
    remote: str | None = None,
    push: bool = False,
    as_output: bool = True,
    name: str | None = None,
    mode: str | None = None,
) -> dict[str, Any]:
    """As `VersionDataOperator`: returns the version (``uri``, ``digest``, ...)."""
    return _data.version_data(path, remote, push, as_output, name, mode, step="version_data")


def log_metrics(
    metrics: Any = None,
    file: Any = None,
    params: Any = None,
    run_id: str | None = None,
    step: int | None = None,
) -> dict[str, float]:
    """As `LogMetricsOperator` (without the XCom: pass the value as ``metrics``)."""
    return _metrics.log_metrics(metrics, file, params, run_id, step_number=step, step="log_metrics")

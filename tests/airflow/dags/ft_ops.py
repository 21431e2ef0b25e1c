"""The operators and @task.flowtrack in one DAG: train and register a model, version a file
and push it to a remote, log metrics from an XCom and from a file; a helper inside @task.

FT_TEST_OPS_DIR is a flowtrack data repo (with a default folder remote) holding metrics.yaml.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

from airflow.sdk import dag, task
from flowtrack_airflow.operators import (
    LogMetricsOperator,
    RegisterModelOperator,
    VersionDataOperator,
)

WORK = Path(os.environ.get("FT_TEST_OPS_DIR", "/tmp"))


def _tiny_model() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])


@dag(schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)
def ft_ops() -> None:
    @task
    def train() -> str:
        import flowtrack.models

        return flowtrack.models.log_model(_tiny_model(), "model").uri

    register = RegisterModelOperator(
        task_id="register",
        model_uri="{{ ti.xcom_pull(task_ids='train') }}",
        name="ft-ops-model",
        alias="champion",
        stage="staging",
        tags={"team": "risk"},
    )

    @task
    def write_data() -> str:
        path = WORK / "features.csv"
        path.write_text("a,b\n1,2\n3,4\n")
        return str(path)

    version = VersionDataOperator(
        task_id="version", path="{{ ti.xcom_pull(task_ids='write_data') }}", push=True
    )

    @task
    def evaluate() -> dict[str, Any]:
        return {"auc": 0.91, "val": {"loss": 0.25}}

    from_xcom = LogMetricsOperator(
        task_id="from_xcom", xcom_task_id="evaluate", log_params={"threshold": 0.5}
    )
    LogMetricsOperator(task_id="from_file", file=str(WORK / "metrics.yaml"), step=3)

    @task.flowtrack(register_model="ft-ops-deco", alias="candidate")
    def fit() -> Any:
        return _tiny_model()

    @task.flowtrack(version_output=True)
    def summary() -> dict[str, Any]:
        return {"rows": 2, "columns": ["a", "b"]}

    @task
    def report(registered: dict[str, Any], versioned: dict[str, Any], fitted: dict[str, Any]):
        from flowtrack_airflow import helpers

        helpers.log_metrics(
            {
                "registered_version": registered["version"],
                "pushed": versioned["pushed"],
                "fitted_version": fitted["version"],
            }
        )

    train() >> register
    write_data() >> version
    evaluate() >> from_xcom
    report(register.output, version.output, fit())
    summary()


DAG = ft_ops()

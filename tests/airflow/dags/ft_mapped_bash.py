"""A mapped task, and a BashOperator whose Python script logs a metric with no run handling."""

from __future__ import annotations

import datetime
import shlex
import sys

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import dag, task

SCRIPT = "import flowtrack; flowtrack.log_metric('from_bash', 7)"


@dag(schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)
def ft_mapped_bash() -> None:
    @task
    def square(x: int) -> int:
        import flowtrack

        flowtrack.log_metric("x", x)
        return x * x

    square.expand(x=[1, 2, 3])
    BashOperator(
        task_id="script",
        bash_command=f"{shlex.quote(sys.executable)} -c {shlex.quote(SCRIPT)}",
    )


DAG = ft_mapped_bash()

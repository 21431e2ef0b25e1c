"""Three tasks in a chain; the first logs a metric with no run handling."""

from __future__ import annotations

import datetime

from airflow.sdk import dag, task


@dag(
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    params={"alpha": 0.5},
)
def ft_three_tasks() -> None:
    @task
    def extract() -> list[int]:
        import flowtrack

        flowtrack.log_metric("rows", 3)
        return [1, 2, 3]

    @task
    def transform(values: list[int]) -> list[int]:
        return [v * 2 for v in values]

    @task
    def load(values: list[int]) -> int:
        return sum(values)

    load(transform(extract()))


DAG = ft_three_tasks()

"""Task return values versioned as outputs: the DAG opts in with its param; one task opts
out with its own param; a number, a dict, a DataFrame and an object nothing serializes."""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import dag, task


@dag(
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    params={"flowtrack_version_returns": True},
)
def ft_returns() -> None:
    @task
    def as_dict() -> dict[str, Any]:
        return {"b": [1, 2], "a": "x"}

    @task
    def as_number() -> int:
        return 42

    @task
    def as_frame() -> Any:
        import pandas as pd

        return pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})

    @task(params={"flowtrack_version_returns": False})
    def opted_out() -> dict[str, int]:
        return {"kept": 1}

    @task
    def nothing() -> None:
        return None

    as_dict()
    as_number()
    as_frame()
    opted_out()
    nothing()


DAG = ft_returns()

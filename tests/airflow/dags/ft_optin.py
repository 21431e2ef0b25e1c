"""Three DAGs for [flowtrack] mode = opt_in: one opts in by tag, one by param, one not.

Each task returns a dict, never versioned here (no flowtrack_version_returns switch)."""

from __future__ import annotations

import datetime

from airflow.sdk import dag, task

START = datetime.datetime(2026, 1, 1)


@task
def work() -> dict[str, int]:
    import flowtrack

    flowtrack.log_metric("worked", 1)
    return {"rows": 3}


@dag(schedule=None, start_date=START, catchup=False, tags=["flowtrack"])
def ft_optin_tag() -> None:
    work()


@dag(schedule=None, start_date=START, catchup=False, params={"flowtrack": True})
def ft_optin_param() -> None:
    work()


@dag(schedule=None, start_date=START, catchup=False, tags=["other"])
def ft_optin_none() -> None:
    work()


DAG_TAG = ft_optin_tag()
DAG_PARAM = ft_optin_param()
DAG_NONE = ft_optin_none()

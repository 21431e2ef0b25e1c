"""A task that fails its first try and passes its second, and one that fails every try."""

from __future__ import annotations

import datetime

from airflow.sdk import dag, get_current_context, task

NO_WAIT = datetime.timedelta(seconds=0)


@dag(schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)
def ft_retries() -> None:
    @task(retries=1, retry_delay=NO_WAIT)
    def flaky() -> str:
        import flowtrack

        try_number = get_current_context()["ti"].try_number
        flowtrack.log_metric("attempt", try_number)
        if try_number < 2:
            raise RuntimeError(f"flaky on try {try_number}")
        return "ok"

    @task(retries=1, retry_delay=NO_WAIT)
    def broken() -> None:
        raise ValueError("always broken")

    flaky()
    broken()


DAG = ft_retries()

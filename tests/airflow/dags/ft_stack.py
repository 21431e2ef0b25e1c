"""DAGs for the real scheduler stack (tests/airflow/test_stack.py).

``ft_stack``: a file asset outlet, a task that fails its first try and passes its retry, and a
mapped task. ``ft_stack_killed``: a task whose process and supervisor die by SIGKILL, as when
the kernel's OOM killer takes a worker; only the scheduler can then report the failure.
"""

from __future__ import annotations

import datetime
import os
import signal
from pathlib import Path

from airflow.sdk import Asset, dag, get_current_context, task

FEATURES = Path(os.environ.get("FT_TEST_ASSET_DIR", "/tmp")) / "stack-features.csv"
ASSET = Asset(name=f"stack-features@{FEATURES.parent.name}", uri=f"file://{FEATURES}")
NO_WAIT = datetime.timedelta(seconds=0)


@dag(schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)
def ft_stack() -> None:
    @task(outlets=[ASSET])
    def produce() -> None:
        FEATURES.write_text("a,b\n1,2\n")

    @task(retries=1, retry_delay=NO_WAIT)
    def flaky() -> None:
        import flowtrack

        try_number = get_current_context()["ti"].try_number
        flowtrack.log_metric("attempt", try_number)
        if try_number < 2:
            raise RuntimeError(f"flaky on try {try_number}")

    @task
    def square(x: int) -> int:
        import flowtrack

        flowtrack.log_metric("x", x)
        return x * x

    produce() >> flaky() >> square.expand(x=[1, 2, 3])


@dag(schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)
def ft_stack_killed() -> None:
    @task
    def killed() -> None:
        import flowtrack

        flowtrack.log_metric("before_kill", 1)
        flowtrack.flush()  # what a real task logged before the kill would be in the journal
        # The supervisor (this process's parent, the executor's worker) first, so nothing
        # reports the task's end: the scheduler finds it without heartbeats.
        os.kill(os.getppid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)

    killed()


ft_stack()
ft_stack_killed()

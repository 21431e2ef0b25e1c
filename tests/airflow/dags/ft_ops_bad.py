"""Explicit steps given bad input: each task fails with a message naming the argument."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from airflow.sdk import dag
from flowtrack_airflow.operators import (
    LogMetricsOperator,
    RegisterModelOperator,
    VersionDataOperator,
)

WORK = Path(os.environ.get("FT_TEST_OPS_DIR", "/tmp"))


@dag(
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    # Bad input fails at once: a retry would not help.
    default_args={"retries": 2, "retry_delay": datetime.timedelta(seconds=0)},
)
def ft_ops_bad() -> None:
    RegisterModelOperator(
        task_id="unknown_run", model_uri=f"runs:/{'0' * 32}/model", name="ft-bad-model"
    )
    VersionDataOperator(task_id="missing_path", path=str(WORK / "nothing-here.csv"))
    LogMetricsOperator(task_id="malformed_file", file=str(WORK / "broken.yaml"))


DAG = ft_ops_bad()

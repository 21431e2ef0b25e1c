"""`LogMetricsOperator`: log metrics from a dict, an upstream XCom or a JSON/YAML file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from flowtrack_airflow.steps.metrics import log_metrics


class LogMetricsOperator(BaseOperator):
    """Log metrics into this task's run (or run ``run_id``).

    From ``metrics`` (a dict; nested dicts become ``a.b`` keys), from the XCom of task
    ``xcom_task_id`` (key ``xcom_key``), and from ``file`` (JSON, or YAML); when several are
    given they are merged (on a key given twice, ``metrics`` wins over the XCom, which wins
    over the file). ``log_params`` (a dict) are logged as params (``params`` is Airflow's).
    The XCom is the metrics logged.
    """

    template_fields: Sequence[str] = (
        "metrics",
        "xcom_task_id",
        "xcom_key",
        "file",
        "log_params",
        "run_id",
    )
    ui_color = "#fef9c3"

    def __init__(
        self,
        *,
        metrics: Any = None,
        xcom_task_id: str | None = None,
        xcom_key: str = "return_value",
        file: Any = None,
        log_params: Any = None,
        run_id: str | None = None,
        step: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics
        self.xcom_task_id = xcom_task_id
        self.xcom_key = xcom_key
        self.file = file
        self.log_params = log_params
        self.run_id = run_id
        self.step = step

    def execute(self, context: Any) -> dict[str, float]:
        xcom = None
        if self.xcom_task_id is not None:
            value = context["ti"].xcom_pull(task_ids=self.xcom_task_id, key=self.xcom_key)
            xcom = (f"{self.xcom_task_id} (key {self.xcom_key})", value)
        return log_metrics(
            self.metrics,
            file=self.file,
            params=self.log_params,
            run_id=self.run_id,
            step=self.step,
            caller=type(self).__name__,
            xcom=xcom,
        )

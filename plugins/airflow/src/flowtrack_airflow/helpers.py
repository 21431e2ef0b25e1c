"""The operators' steps as plain functions, for use inside ``@task`` (or any Python callable)::

    from airflow.sdk import task
    from flowtrack_airflow import helpers

    @task
    def publish(model_uri: str) -> int:
        return helpers.register_model(model_uri, "churn", alias="champion")["version"]

They are the functions the operators call, with the operators' arguments (``log_metrics``
takes the value itself where the operator takes ``xcom_task_id``, and ``params`` for
``log_params``) and their XCom dicts as return values. Each logs into the task's run (a run
of its own when the DAG is not recorded) and raises `flowtrack_airflow.steps.StepError` (an
``AirflowFailException``) naming the argument and the value on bad input, before anything
is written.
"""

from flowtrack_airflow.steps import StepError
from flowtrack_airflow.steps.data import version_data
from flowtrack_airflow.steps.metrics import log_metrics
from flowtrack_airflow.steps.models import register_model

__all__ = ["StepError", "log_metrics", "register_model", "version_data"]

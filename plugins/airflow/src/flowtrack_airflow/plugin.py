"""flowtrack plugin of the Airflow adapter.

It tags runs started inside an Airflow task with the task's identity, which Airflow exports
as ``AIRFLOW_CTX_*`` variables to the task and to the processes it starts, and registers the
serializer of task return values (`returns`). The listener that records every task instance
is the Airflow plugin (`airflow_plugin`).
"""

from __future__ import annotations

import os

import flowtrack
from flowtrack.plugins.records import SerializerSpec

_TAGS = {
    "AIRFLOW_CTX_DAG_ID": "airflow.dag_id",
    "AIRFLOW_CTX_DAG_RUN_ID": "airflow.run_id",
    "AIRFLOW_CTX_TASK_ID": "airflow.task_id",
    "AIRFLOW_CTX_TRY_NUMBER": "airflow.try_number",
}


@flowtrack.hookimpl
def flowtrack_run_context() -> dict[str, str]:
    return {tag: os.environ[var] for var, tag in _TAGS.items() if os.environ.get(var)}


@flowtrack.hookimpl
def flowtrack_register_serializers() -> list[SerializerSpec]:
    from flowtrack_airflow import returns

    return [returns.SERIALIZER]

"""The Airflow plugin (entry point group ``airflow.plugins``); only Airflow imports this."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class FlowtrackAirflowPlugin(AirflowPlugin):  # type: ignore[misc]
    name = "flowtrack"
    # The task-instance listener is added by the Airflow adapter issue.
    listeners: list[object] = []

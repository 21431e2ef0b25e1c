"""The Airflow plugin (entry point group ``airflow.plugins``); only Airflow imports this.

Installing flowtrack-airflow is enough: Airflow loads this plugin in every component, and its
listener records DAG runs and task instances (see docs/airflow.md). With ``[flowtrack]
enabled = false`` (or a malformed section) the plugin registers no listener at all, so Airflow
calls nothing of flowtrack's; the setting is read when the component starts.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from flowtrack_airflow import listener, settings


def _listeners() -> list[Any]:
    try:
        enabled = settings.load().enabled
    except Exception:  # never stop Airflow from loading its plugins; the hooks check again
        enabled = True
    return [listener] if enabled else []


class FlowtrackAirflowPlugin(AirflowPlugin):
    name = "flowtrack"
    listeners = _listeners()

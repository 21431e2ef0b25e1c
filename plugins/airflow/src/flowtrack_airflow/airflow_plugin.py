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
        if enabled:
            # flowtrack's own plugins (entry points, run-context providers) load in ~0.1-0.4 s:
            # here, as Airflow loads its plugins, rather than in the first task's hook. Under
            # the LocalExecutor the task processes are forked from the scheduler and inherit
            # them; elsewhere this is the task process's start, before the task's work.
            from flowtrack.plugins import get_plugin_manager

            get_plugin_manager()
    except Exception:  # never stop Airflow from loading its plugins; the hooks check again
        enabled = True
    return [listener] if enabled else []


class FlowtrackAirflowPlugin(AirflowPlugin):
    name = "flowtrack"
    listeners = _listeners()

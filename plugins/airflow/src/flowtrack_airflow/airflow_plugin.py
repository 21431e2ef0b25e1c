"""The Airflow plugin (entry point group ``airflow.plugins``); only Airflow imports this.

Installing flowtrack-airflow is enough: Airflow loads this plugin in every component, and its
listener records DAG runs and task instances (see docs/airflow.md).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from flowtrack_airflow import listener


class FlowtrackAirflowPlugin(AirflowPlugin):
    name = "flowtrack"
    listeners = [listener]

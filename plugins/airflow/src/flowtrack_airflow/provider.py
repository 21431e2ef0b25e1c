"""Provider metadata for Airflow (entry point group ``apache_airflow_provider``).

Airflow 3 finds task decorators through its providers manager: each installed distribution
with this entry point returns a dict, and its ``task-decorators`` become ``@task.<name>``
(as ``@task.docker`` comes from the Docker provider). This makes ``@task.flowtrack``.
"""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    from importlib.metadata import version

    return {
        # Must be the distribution's name: Airflow refuses a provider whose names differ.
        "package-name": "flowtrack-airflow",
        "name": "flowtrack",
        "description": "flowtrack: experiment tracking, data versioning and a model registry.",
        "versions": [version("flowtrack-airflow")],
        "task-decorators": [
            {"name": "flowtrack", "class-name": "flowtrack_airflow.decorators.flowtrack_task"}
        ],
    }

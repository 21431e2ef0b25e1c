"""flowtrack adapter for Apache Airflow (docs/airflow.md).

``flowtrack_task`` is ``@task.flowtrack`` (`decorators`). It is imported on first use: this
package is also loaded by flowtrack's plugin manager in processes that never import Airflow.
"""

from typing import Any

__all__ = ["flowtrack_task"]


def __getattr__(name: str) -> Any:
    if name == "flowtrack_task":
        from flowtrack_airflow.decorators import flowtrack_task

        return flowtrack_task
    raise AttributeError(f"module 'flowtrack_airflow' has no attribute {name!r}")

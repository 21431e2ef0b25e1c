"""Operators for explicit flowtrack steps in a DAG (docs/airflow.md, "Operators").

::

    from flowtrack_airflow.operators import (
        LogMetricsOperator,
        RegisterModelOperator,
        VersionDataOperator,
    )
"""

from flowtrack_airflow.operators.log_metrics import LogMetricsOperator
from flowtrack_airflow.operators.register_model import RegisterModelOperator
from flowtrack_airflow.operators.version_data import VersionDataOperator

__all__ = ["LogMetricsOperator", "RegisterModelOperator", "VersionDataOperator"]

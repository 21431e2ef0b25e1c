"""flowtrack adapter for Apache Spark: a JVM listener that records every Spark application as
a run (docs/spark.md).

``flowtrack_spark.configure(SparkSession.builder)`` adds the listener to a session; the
``flowtrack-spark`` command prints the jar and the spark-defaults.conf lines.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowtrack_spark.flavor import log_model
    from flowtrack_spark.settings import app_run_id, configure

__all__ = ["app_run_id", "configure", "log_model"]

# Imported on first use: the ingest helper (`python -m flowtrack_spark`) starts beside every
# tracked JVM and must not pay for the model flavor's imports.
_HOMES = {"log_model": "flavor", "app_run_id": "settings", "configure": "settings"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'flowtrack_spark' has no attribute {name!r}")
    return getattr(importlib.import_module(f"flowtrack_spark.{home}"), name)

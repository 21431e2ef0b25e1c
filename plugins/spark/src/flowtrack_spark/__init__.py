"""flowtrack adapter for Apache Spark: a JVM listener that records every Spark application as
a run (docs/spark.md).

``flowtrack_spark.configure(SparkSession.builder)`` adds the listener to a session; the
``flowtrack-spark`` command prints the jar and the spark-defaults.conf lines.
"""

from flowtrack_spark.flavor import log_model
from flowtrack_spark.settings import app_run_id, configure

__all__ = ["app_run_id", "configure", "log_model"]

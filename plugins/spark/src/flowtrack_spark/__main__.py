"""``python -m flowtrack_spark``: the ``flowtrack-spark`` command (the listener starts its
ingest helper this way, with the interpreter named in spark.flowtrack.python)."""

from flowtrack_spark.cli import main

main()

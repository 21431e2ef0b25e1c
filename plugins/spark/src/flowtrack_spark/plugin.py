"""flowtrack plugin of the Spark adapter: ``flowtrack spark ...`` and the spool ingest of
``flowtrack sync``."""

from __future__ import annotations

import sys

import flowtrack
from flowtrack.plugins.records import CommandSpec, FlavorSpec
from flowtrack.tracking.context import RunState


@flowtrack.hookimpl
def flowtrack_register_commands() -> list[CommandSpec]:
    from flowtrack_spark.cli import spark

    return [CommandSpec(spark)]


@flowtrack.hookimpl
def flowtrack_sync(dry_run: bool) -> list[str]:
    from flowtrack_spark import ingest

    return ingest.sync(dry_run)


@flowtrack.hookimpl
def flowtrack_current_run() -> RunState | None:
    if "pyspark" not in sys.modules:  # asked on every logging call: stay cheap
        return None
    from flowtrack_spark import driver

    return driver.current_run()


@flowtrack.hookimpl
def flowtrack_register_flavors() -> list[FlavorSpec]:
    from flowtrack_spark.flavor import FLAVOR

    return [FLAVOR]

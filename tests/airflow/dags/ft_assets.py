"""A task writes a file asset (outlet) that the next task reads (inlet)."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from airflow.sdk import Asset, dag, task

FEATURES = Path(os.environ.get("FT_TEST_ASSET_DIR", "/tmp")) / "features.csv"
# Airflow deactivates an asset whose name another DAG parse gave another URI: the folder is
# part of the name, since each test writes to its own folder.
ASSET = Asset(name=f"features@{FEATURES.parent.name}", uri=f"file://{FEATURES}")


@dag(schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)
def ft_assets() -> None:
    @task(outlets=[ASSET])
    def produce() -> None:
        FEATURES.write_text("a,b\n1,2\n")

    @task(inlets=[ASSET])
    def consume() -> int:
        return len(FEATURES.read_text().splitlines())

    produce() >> consume()


DAG = ft_assets()

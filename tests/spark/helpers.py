"""Running Spark applications for the tests, and waiting for their runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pyspark

T = TypeVar("T")
SPARK_SUBMIT = str(Path(pyspark.__file__).parent / "bin" / "spark-submit")


def spark_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # The JVM's own log: warnings only, so the listener's messages stand out.
    return env


def submit(
    conf: dict[str, str], app: list[str], env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``spark-submit --master local[2] --conf k=v ... app``; returns when the JVM and the
    ingest helper (which shares its stderr) are done."""
    cmd = [SPARK_SUBMIT, "--master", "local[2]", "--conf", "spark.ui.enabled=false"]
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]
    return subprocess.run(
        cmd + app,
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or spark_env(),
    )


def wait_for(check: Callable[[], T | None], timeout: float = 60, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(0.3)


JOB = """
import sys
from pyspark.sql import SparkSession

source, target = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.appName("csv-to-parquet").getOrCreate()
df = spark.read.option("header", True).option("inferSchema", True).csv(source)
df.groupBy("city").sum("amount").write.mode("overwrite").parquet(target)
spark.stop()
"""

FAILING_JOB = """
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf

spark = SparkSession.builder.appName("failing").getOrCreate()

@udf("int")
def explode(x):
    raise ValueError("the data is bad: row %s" % x)

try:
    spark.range(4).select(explode("id")).collect()
except Exception as exc:
    print("job failed as planned:", type(exc).__name__)
    spark.stop()
    raise SystemExit(7)
"""


def write_csv(path: Path, rows: int = 50) -> Path:
    lines = ["city,amount"] + [f"{['paris', 'lyon', 'nice'][i % 3]},{i}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path

"""Spark tests: real local Spark (``local[2]``) with the listener jar built once per session.

A Spark JVM takes 10-20 s to start here, so each test module starts at most one in-process
session, and the spark-submit tests (a JVM each) are few.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing

if importlib.util.find_spec("pyspark") is None:
    missing("pyspark is not installed (requirements/dev.txt pins it)", module_level=True)
if shutil.which("javac") is None and not os.environ.get("JAVA_HOME"):
    missing("no JDK (javac) to build the listener and run Spark", module_level=True)

# One jar cache for the session: the jar is compiled once (~5 s), as a user's cache would be.
CACHE = Path(tempfile.mkdtemp(prefix="flowtrack-spark-cache-"))


@pytest.fixture(autouse=True)
def _jar_cache(ft_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWTRACK_SPARK_CACHE", str(CACHE))


@pytest.fixture(scope="session")
def listener_jar() -> Iterator[Path]:
    from flowtrack_spark import jar

    os.environ["FLOWTRACK_SPARK_CACHE"] = str(CACHE)
    yield jar.build()
    shutil.rmtree(CACHE, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _quiet_py4j_at_exit() -> Iterator[None]:
    # py4j's connections log "Closing down clientserver connection" from __del__ at interpreter
    # exit, after pytest has closed the streams it captured: a "--- Logging error ---" traceback
    # at the end of every run. Nothing is lost by not logging it.
    yield
    logging.getLogger("py4j").setLevel(logging.WARNING)

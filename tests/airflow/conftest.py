"""One Airflow home and metadata DB (SQLite) per test session, migrated once.

Airflow reads its settings when it is imported, so the environment is set here, before any
test module imports it. `airflow db migrate` takes 5-15 s on these machines and the first
`dag.test()` in a process ~15 s more (it boots the in-process execution API): the tests share
both. Each test still gets its own flowtrack store (the autouse ``ft_home`` fixture).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing

if importlib.util.find_spec("airflow") is None:
    missing("apache-airflow is not installed (requirements/dev.txt pins it)", module_level=True)

SOURCE_DAGS = Path(__file__).resolve().parent / "dags"
# Airflow's own example DAGs that the tests run unchanged (copied into the DAGs folder).
EXAMPLE_DAGS = ["tutorial_taskflow_api.py"]
HOME = Path(tempfile.mkdtemp(prefix="flowtrack-airflow-"))
DAGS = HOME / "dags"
atexit.register(shutil.rmtree, HOME, True)
AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME / 'airflow.db'}",
    "AIRFLOW__API__BASE_URL": "http://airflow.test:8080",
}
os.environ.update(AIRFLOW_ENV)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """The session's Airflow home, its database migrated, its DAGs folder filled."""
    DAGS.mkdir(exist_ok=True)
    for dag_file in SOURCE_DAGS.glob("*.py"):
        shutil.copy(dag_file, DAGS / dag_file.name)
    spec = importlib.util.find_spec("airflow.example_dags")
    assert spec is not None and spec.submodule_search_locations is not None
    examples = Path(next(iter(spec.submodule_search_locations)))
    for name in EXAMPLE_DAGS:
        shutil.copy(examples / name, DAGS / name)
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env={**os.environ, **AIRFLOW_ENV},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"airflow db migrate failed: {done.stderr[-3000:]}")
    # Airflow imports its plugins once per process, and flowtrack's registers its listener only
    # if tracking is on then: import it now, with tracking on, so that a test turning tracking
    # off through the config does not leave every later test of the session without it.
    import flowtrack_airflow.airflow_plugin

    assert flowtrack_airflow.airflow_plugin.FlowtrackAirflowPlugin.listeners
    return HOME


@pytest.fixture(autouse=True)
def airflow_settings(airflow_db: Path) -> Iterator[None]:
    """The adapter reads [flowtrack] again in each test (tests change the environment), and
    each test leaves the environment as it found it."""
    from flowtrack_airflow import settings

    settings.forget()
    yield
    settings.forget()
    # dag.test() leaves the last task's AIRFLOW_CTX_* variables in this process's environment;
    # runs started by later tests would take them as their Airflow context.
    for name in [n for n in os.environ if n.startswith("AIRFLOW_CTX_")]:
        del os.environ[name]

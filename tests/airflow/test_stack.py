"""The listener under Airflow's real stack: scheduler + LocalExecutor + api-server + dag-processor.

Started once for this module (tests/airflow/stack.py), on a throwaway PostgreSQL database for
Airflow and the session's PostgreSQL store for flowtrack. Two DAG runs are triggered through
the REST API and run side by side: ``ft_stack`` (an asset outlet, a task that fails its first
try and passes its retry, a mapped task) and ``ft_stack_killed`` (a task whose process and
supervisor die by SIGKILL: only the scheduler can report it, through its heartbeat check and
``on_task_instance_failed`` with an ORM TaskInstance). A second listener plugin
(tests/airflow/plugins/ft_witness.py) writes down the hooks it gets, and plants a bug in
flowtrack's ``on_dag_run_running`` work for ``ft_stack_killed``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import flowtrack
import pytest
from flowtrack.entities import Run

from tests.airflow.conftest import SOURCE_DAGS
from tests.airflow.helpers import dag_run, tasks_of
from tests.airflow.stack import FINAL_STATES, Stack, airflow_env, free_port, make_home
from tests.conftest import PG_ADMIN_URI

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PLUGINS = Path(__file__).resolve().parent / "plugins"
BROKEN_DAG = "ft_stack_killed"
# The killed task is found without heartbeats after this long (Airflow's default is 300 s);
# live tasks' supervisors heartbeat every 2 s, so a busy machine still has a wide margin.
HEARTBEAT_TIMEOUT_S = 15
# Per phase, on a 2-core machine shared with other work.
START_TIMEOUT_S = 240
RUN_TIMEOUT_S = 240


@dataclass
class Triggered:
    stack: Stack
    store_uri: str
    asset_dir: Path
    run_ids: dict[str, str]  # dag_id -> Airflow run_id
    states: dict[str, str]  # dag_id -> final state, as the REST API reports it


@pytest.fixture(scope="module")
def airflow_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for Airflow's metadata, dropped at the end."""
    from sqlalchemy import create_engine, text

    name = f"ft_airflow_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URI.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def triggered(
    airflow_database: str, pg_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Triggered]:
    root = tmp_path_factory.mktemp("airflow-stack")
    home = make_home(root, [SOURCE_DAGS / "ft_stack.py"], [PLUGINS / "ft_witness.py"])
    port = free_port()
    env = airflow_env(
        home,
        airflow_database,
        port,
        {
            "FLOWTRACK_HOME": str(root / "flowtrack"),
            "FLOWTRACK_TRACKING_URI": pg_database,
            "FT_TEST_ASSET_DIR": str(root),
            "FT_TEST_WITNESS_FILE": str(home / "witness.log"),
            "FT_TEST_BROKEN_DAG": BROKEN_DAG,
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
        },
    )
    stack = Stack(home, env, port)
    migrated = stack.airflow("db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-4000:]
    stack.start()
    try:
        dags = ("ft_stack", BROKEN_DAG)
        stack.wait(
            "the api-server and the parsed DAGs",
            lambda: all(stack.request("GET", f"dags/{d}") for d in dags),
            START_TIMEOUT_S,
        )
        run_ids = {
            "ft_stack": stack.trigger("ft_stack", {"source": "s3://bucket/x", "nested": {"k": 1}}),
            BROKEN_DAG: stack.trigger(BROKEN_DAG),
        }
        states = {
            d: stack.wait(
                f"the {d} run to finish",
                lambda d=d: (s := stack.dag_run_state(d, run_ids[d])) in FINAL_STATES and s,
                RUN_TIMEOUT_S,
            )
            for d in dags
        }
        yield Triggered(stack, pg_database, root, run_ids, states)
    finally:
        stack.stop()


def _recorded(triggered: Triggered, dag_id: str, runs: int) -> list[Run]:
    """The DAG's runs once the DAG run's run has ended and all ``runs`` are in the store (the
    scheduler's last hook delivers in the background, a moment after Airflow's state)."""
    flowtrack.set_tracking_uri(triggered.store_uri)
    client = flowtrack.Client()

    def ended() -> list[Run] | None:
        found = list(client.search_runs(dag_id, max_results=100).items)
        tops = [r for r in found if "airflow.task_id" not in r.data.tags]
        done = len(found) == runs and tops and tops[0].info.status != "RUNNING"
        return found if done else None

    deadline = time.monotonic() + 60
    while (found := ended()) is None:
        if time.monotonic() > deadline:
            seen = [(r.info.run_name, r.info.status) for r in client.search_runs(dag_id).items]
            raise AssertionError(f"{dag_id}: runs in the store: {seen}\n{triggered.stack.logs()}")
        time.sleep(0.5)
    return found


def test_dag_run_tree_under_the_scheduler(triggered: Triggered) -> None:
    assert triggered.states["ft_stack"] == "success", triggered.stack.logs()
    runs = _recorded(triggered, "ft_stack", runs=6)
    top = dag_run(runs, triggered.run_ids["ft_stack"])
    # Made by the scheduler's on_dag_run_running, before any task: not by the first task.
    assert top.data.tags["airflow.created_by"] == "on_dag_run_running"
    assert top.info.status == "FINISHED"
    assert top.data.tags["airflow.state"] == "success"  # the scheduler's on_dag_run_success
    assert top.data.tags["airflow.run_type"] == "manual"
    assert top.data.params == {"source": "s3://bucket/x", "nested.k": "1"}
    assert top.data.tags["airflow.ui_url"].startswith(f"{triggered.stack.url}/dags/ft_stack/runs/")
    children = [r for r in runs if r.info.parent_run_id == top.info.run_id]
    assert sorted(r.info.run_name for r in children) == [
        "flaky",
        "produce",
        "square[0]",
        "square[1]",
        "square[2]",
    ]
    assert {r.info.status for r in children} == {"FINISHED"}
    assert {r.data.tags["airflow.state"] for r in children} == {"success"}
    squares = sorted(
        (r for r in children if r.data.tags["airflow.task_id"] == "square"),
        key=lambda r: r.info.run_name,
    )
    assert [r.data.metrics for r in squares] == [{"x": 1.0}, {"x": 2.0}, {"x": 3.0}]


def test_a_retry_is_a_second_try_of_one_run(triggered: Triggered) -> None:
    runs = _recorded(triggered, "ft_stack", runs=6)
    flaky = tasks_of(runs, dag_run(runs, triggered.run_ids["ft_stack"]))["flaky"]
    assert flaky.info.status == "FINISHED"
    assert flaky.data.tags["airflow.try_number"] == "2"
    assert flaky.data.tags["airflow.max_tries"] == "1"
    assert "flowtrack.error" not in flaky.data.tags  # the first try's, removed by the second
    # Each try ran in its own task process and logged into the same run.
    history = flowtrack.Client().get_metric_history(flaky.info.run_id, "attempt")
    assert sorted(m.value for m in history) == [1.0, 2.0]


def test_the_asset_outlet_is_a_versioned_output(triggered: Triggered) -> None:
    runs = _recorded(triggered, "ft_stack", runs=6)
    produce = tasks_of(runs, dag_run(runs, triggered.run_ids["ft_stack"]))["produce"]
    client = flowtrack.Client()
    (written,) = client.get_run_outputs(produce.info.run_id)
    path = triggered.asset_dir / "stack-features.csv"
    assert written.uri == str(path)
    assert written.name == f"stack-features@{triggered.asset_dir.name}"
    producer = client.get_producer(path)
    assert producer is not None and producer.info.run_id == produce.info.run_id


def test_a_task_killed_with_its_supervisor_is_failed_by_the_scheduler(
    triggered: Triggered,
) -> None:
    assert triggered.states[BROKEN_DAG] == "failed", triggered.stack.logs()
    runs = _recorded(triggered, BROKEN_DAG, runs=2)
    top = dag_run(runs, triggered.run_ids[BROKEN_DAG])
    killed = tasks_of(runs, top)["killed"]
    assert killed.data.metrics == {"before_kill": 1.0}  # logged by the task before it died
    # Reported by the scheduler's on_task_instance_failed with its ORM TaskInstance: the only
    # process left that knew.
    assert killed.info.status == "FAILED"
    assert killed.data.tags["airflow.state"] == "failed"
    assert killed.data.tags["flowtrack.error"].startswith("Executor LocalExecutor")
    assert top.info.status == "FAILED"  # the scheduler's on_dag_run_failed
    assert top.data.tags["airflow.state"] == "failed"
    assert top.data.tags["flowtrack.error"] == "task_failure"
    # flowtrack's on_dag_run_running work had a (planted) bug here: the first task made the run.
    assert top.data.tags["airflow.created_by"] == "on_task_instance_running"

    # Someone marks the task, then the DAG run, successful in the UI: the api-server fires
    # on_task_instance_success and on_dag_run_success with its ORM objects; the runs follow.
    path = f"dags/{BROKEN_DAG}/dagRuns/{triggered.run_ids[BROKEN_DAG]}"
    triggered.stack.request("PATCH", f"{path}/taskInstances/killed", {"new_state": "success"})
    triggered.stack.request("PATCH", path, {"state": "success"})
    for run in (killed, top):
        marked = _finished(triggered, run.info.run_id)
        assert marked.data.tags["airflow.state"] == "success"
        assert "flowtrack.error" not in marked.data.tags


def _finished(triggered: Triggered, run_id: str) -> Run:
    client = flowtrack.Client()
    deadline = time.monotonic() + 60
    while (run := client.get_run(run_id)).info.status != "FINISHED":
        assert time.monotonic() < deadline, triggered.stack.log("api-server")[-6000:]
        time.sleep(0.5)
    return run


def test_scheduler_kept_running_and_other_listeners_were_called(triggered: Triggered) -> None:
    stack = triggered.stack
    stack.check_alive()
    scheduler = stack.log("scheduler")
    assert "UNEXPECTED COMMIT" not in scheduler
    assert scheduler.count("Starting the scheduler") == 1, scheduler[-6000:]
    # The planted bug: logged once, with the hook's name, by the scheduler, which went on.
    failed = "flowtrack: the on_dag_run_running listener failed; Airflow is not affected"
    assert scheduler.count(failed) == 1, scheduler[-6000:]
    assert "a bug planted in flowtrack by the test" in scheduler
    # Nothing else went wrong in any component or task: every event reached the store.
    logs = stack.logs(tail=10**7)
    assert logs.count("listener failed") == 1
    assert "is unavailable" not in logs and "did not take every event" not in logs
    # The other plugin's listener, called after flowtrack's, saw every hook: in the scheduler
    # (even where flowtrack's work failed) and in each task process.
    witness = (stack.home / "witness.log").read_text().splitlines()
    seen = sorted(" ".join(line.split()[:-1]) for line in witness)  # without the pid
    assert seen == sorted(
        [
            "on_dag_run_running ft_stack",
            f"on_dag_run_running {BROKEN_DAG}",
            f"on_task_instance_running {BROKEN_DAG} killed",
            "on_task_instance_running ft_stack flaky",
            "on_task_instance_running ft_stack flaky",
            "on_task_instance_running ft_stack produce",
            *["on_task_instance_running ft_stack square"] * 3,
        ]
    )
    scheduler_pid = {stack.processes["scheduler"].pid}
    dag_run_pids = {line.split()[-1] for line in witness if "on_dag_run_running" in line}
    task_pids = {line.split()[-1] for line in witness if "on_task_instance_running" in line}
    assert dag_run_pids == {str(p) for p in scheduler_pid}
    assert len(task_pids) == 7 and not task_pids & dag_run_pids  # one process per try

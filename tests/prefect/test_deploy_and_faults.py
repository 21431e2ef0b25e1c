"""A flow served with `serve` in another process, and the tracking store down during a flow."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flowtrack
import flowtrack.testing
import pytest

from tests.core.faults import missing_pg_database, run_python
from tests.prefect.helpers import children, runs_of, wait_for

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One process serving the `served` and `sleepy` deployments; yields its log file.

    Its flow runs write to the flowtrack home of the test that starts it (the first one), so
    the tests read that store through FLOWTRACK_HOME = that home.
    """
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    code = (
        "from prefect import serve; from tests.prefect.flows import served, sleepy; "
        "serve(served.to_deployment(name='ft-served'), sleepy.to_deployment(name='ft-sleepy'))"
    )
    home = tmp_path_factory.mktemp("served-home")
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "FLOWTRACK_HOME": str(home)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        yield home
    finally:
        server.terminate()
        server.wait(timeout=30)


def _run_deployment(name: str, timeout: float, **parameters: object) -> Any:
    from prefect.deployments import run_deployment

    deadline = time.monotonic() + 120
    while True:
        try:
            return run_deployment(name, parameters=parameters, timeout=timeout)
        except Exception:  # the deployment is not registered yet
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_served_flow_runs_are_recorded(serving: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flow_run = _run_deployment("served/ft-served", 120, x=3)
    assert flow_run.state is not None and flow_run.state.is_completed()
    monkeypatch.setenv("FLOWTRACK_HOME", str(serving))
    flowtrack.testing.reset()
    runs = runs_of("prefect-served")
    (top,) = [
        r
        for r in runs
        if r.data.tags.get("prefect.flow_run_id") == str(flow_run.id)
        and "prefect.task_run_id" not in r.data.tags
    ]
    assert top.data.tags["prefect.deployment_id"] == str(flow_run.deployment_id)
    assert top.data.metrics == {"served_x": 3.0} and top.info.status == "FINISHED"
    (square,) = children(runs, top)
    assert square.data.params == {"x": "3"}


def test_cancelled_served_flow_ends_its_runs_killed(
    serving: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    monkeypatch.setenv("FLOWTRACK_HOME", str(serving))
    flowtrack.testing.reset()
    flow_run = _run_deployment("sleepy/ft-sleepy", 0, seconds=120)

    def mine() -> list[Any]:
        return [
            r
            for r in runs_of("prefect-served")
            if r.data.tags.get("prefect.flow_run_id") == str(flow_run.id)
        ]

    # The flow run and its task run are recorded as RUNNING by the flow run's process.
    assert len(wait_for(lambda: len(mine()) == 2 and mine())) == 2
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run.id, Cancelling(), force=True)
    ended = wait_for(lambda: all(r.info.status != "RUNNING" for r in mine()) and mine())
    assert ended, [(r.info.run_name, r.info.status) for r in mine()]
    assert sorted(r.info.status for r in ended) == ["KILLED", "KILLED"]


@pytest.mark.postgres
def test_store_down_during_the_flow_then_sync() -> None:
    from click.testing import CliRunner
    from flowtrack.cli.main import cli

    with missing_pg_database() as (uri, bring_up):
        done = run_python(
            """
            import time
            from tests.prefect.flows import mapped
            started = time.monotonic()
            print(mapped())
            print(time.monotonic() - started)
            """,
            {
                "FLOWTRACK_TRACKING_URI": uri,
                "FLOWTRACK_FLUSH_TIMEOUT": "1",
                "PYTHONPATH": str(ROOT),
            },
            timeout=180,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        result, seconds = done.stdout.split()[-2:]
        assert result == "9]" or "[1, 4, 9]" in done.stdout
        assert float(seconds) < 30  # a store down costs the flow a bounded wait, not a failure
        bring_up()
        synced = CliRunner().invoke(cli, ["sync"])
        assert synced.exit_code == 0, synced.output
        flowtrack.set_tracking_uri(uri)
        runs = runs_of("prefect-tests")
        (top,) = [r for r in runs if r.data.tags.get("prefect.flow_name") == "mapped"]
        assert top.info.status == "FINISHED"
        assert sorted(r.data.params["x"] for r in children(runs, top)) == ["1", "2", "3"]

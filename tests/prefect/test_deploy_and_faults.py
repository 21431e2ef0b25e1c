"""A flow served with `serve` in another process, and the tracking store down during a flow."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import flowtrack
import pytest

from tests.core.faults import missing_pg_database, run_python
from tests.prefect.helpers import children, runs_of

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_served_flow_runs_are_recorded(tmp_path: Path) -> None:
    from prefect.deployments import run_deployment

    log_path = tmp_path / "serve.log"
    code = "from tests.prefect.flows import served; served.serve(name='ft-served', limit=1)"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                flow_run = run_deployment("served/ft-served", parameters={"x": 3}, timeout=120)
                break
            except Exception:  # the deployment is not registered yet
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log_path.read_text()[-3000:]) from None
                time.sleep(1)
        assert flow_run.state is not None and flow_run.state.is_completed(), log_path.read_text()
    finally:
        server.terminate()
        server.wait(timeout=30)
    runs = runs_of("prefect-served")
    (top,) = [r for r in runs if "prefect.task_run_id" not in r.data.tags]
    assert top.data.tags["prefect.flow_run_id"] == str(flow_run.id)
    assert top.data.tags["prefect.deployment_id"] == str(flow_run.deployment_id)
    assert top.data.metrics == {"served_x": 3.0} and top.info.status == "FINISHED"
    (square,) = children(runs, top)
    assert square.data.params == {"x": "3"}


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

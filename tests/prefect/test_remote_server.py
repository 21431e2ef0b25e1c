"""A tracked flow whose flowtrack store is a remote server (``FLOWTRACK_TRACKING_URI=http://``):
down while the flow runs (the flow succeeds, its runs are spooled), then up (``flowtrack sync``
delivers them), then up while a flow runs (its runs arrive directly)."""

from __future__ import annotations

from pathlib import Path

import flowtrack
import pytest
from click.testing import CliRunner
from flowtrack.cli.main import cli
from flowtrack.errors import NotFoundError

from tests.core.faults import run_python
from tests.core.serverfixtures import free_port, start_server
from tests.prefect.helpers import children, runs_of

pytestmark = [pytest.mark.usefixtures("prefect_server"), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FLOW = """
import time
from tests.prefect.flows import mapped
started = time.monotonic()
print(mapped())
print(time.monotonic() - started)
"""


def _mapped_runs(uri: str) -> list[tuple[str, list[str]]]:
    flowtrack.set_tracking_uri(uri)
    try:
        runs = runs_of("prefect-tests")
    except NotFoundError:  # nothing has created the experiment yet
        return []
    tops = [r for r in runs if r.data.tags.get("prefect.flow_name") == "mapped"]
    return [
        (top.info.status, sorted(r.data.params["x"] for r in children(runs, top))) for top in tops
    ]


def test_remote_server_down_during_the_flow_then_up(tmp_path: Path) -> None:
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    env = {
        "FLOWTRACK_TRACKING_URI": uri,
        "FLOWTRACK_FLUSH_TIMEOUT": "1",
        "FLOWTRACK_HTTP_RETRIES": "0",
        "PYTHONPATH": str(ROOT),
    }

    # Nothing listens on the port: the flow must still succeed, in bounded time.
    done = run_python(FLOW, env, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[1, 4, 9]" in done.stdout
    assert float(done.stdout.split()[-1]) < 30

    server = start_server(tmp_path / "server", port=port)
    try:
        assert _mapped_runs(uri) == []  # nothing arrived while the server was down
        synced = CliRunner().invoke(cli, ["sync"], env={"FLOWTRACK_TRACKING_URI": uri})
        assert synced.exit_code == 0, synced.output
        assert _mapped_runs(uri) == [("FINISHED", ["1", "2", "3"])]

        # With the server up, a flow's runs arrive without a sync.
        live = run_python(FLOW, env, timeout=180)
        assert live.returncode == 0, live.stderr[-3000:]
        assert _mapped_runs(uri) == [("FINISHED", ["1", "2", "3"])] * 2
    finally:
        server.stop()

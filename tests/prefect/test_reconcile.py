"""Runs left RUNNING by a flow run whose process was killed, ended from Prefect's API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flowtrack
import pytest
from click.testing import CliRunner
from flowtrack.entities import Run, RunData, RunInfo
from flowtrack_prefect.reconcile import RECONCILED_TAG, PrefectState, decide

from tests.core.faults import run_python
from tests.prefect.helpers import runs_of, wait_for

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = "prefect-served"  # the `sleepy` flow's


def _running() -> list[Run]:
    try:
        return [r for r in runs_of(EXPERIMENT) if r.info.status == "RUNNING"]
    except flowtrack.errors.NotFoundError:  # the experiment is not created yet
        return []


@pytest.fixture
def orphan(prefect_server: str) -> Iterator[str]:
    """A flow run whose process was SIGKILLed mid-run; yields its id.

    Its flowtrack run and its task run's are left RUNNING, and so is the flow run in Prefect
    until `_crash` marks it Crashed, as Prefect's zombie detection does once a flow run's
    heartbeats stop.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", "from tests.prefect.flows import sleepy; sleepy(300)"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "FLOWTRACK_PREFECT_RECONCILE": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        runs = wait_for(lambda: len(_running()) == 2 and _running(), 120)
        assert runs, "the flow's process did not record its flow run and task run"
        (flow_run_id,) = {r.data.tags["prefect.flow_run_id"] for r in runs}
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        yield flow_run_id
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def _crash(flow_run_id: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    with get_client(sync_client=True) as client:
        client.set_flow_run_state(
            flow_run_id, Crashed(message="flow run stopped heartbeating"), force=True
        )
        return client.read_flow_run(flow_run_id).state


def _reconcile(*args: str) -> str:
    from flowtrack.cli.main import cli

    result = CliRunner().invoke(cli, ["prefect", "reconcile", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_reconcile_ends_the_runs_of_a_killed_flow_run(orphan: str) -> None:
    # Prefect still says Running: nothing is ended, whatever the grace period.
    out = _reconcile("--grace", "0")
    assert "0 run(s) ended, 2 left RUNNING." in out
    assert "flow run is Running in Prefect" in out
    assert len(_running()) == 2

    crashed = _crash(orphan)
    # Too recent for the default grace period: a live process could still be ending them.
    assert "0 run(s) ended, 2 left RUNNING." in _reconcile()
    out = _reconcile("--grace", "0", "--dry-run")
    assert "2 run(s) would end, 0 left RUNNING." in out and "Crashed" in out
    assert len(_running()) == 2

    out = _reconcile("--grace", "0", "--experiment", EXPERIMENT)
    assert "2 run(s) ended, 0 left RUNNING." in out
    runs = [r for r in runs_of(EXPERIMENT) if r.data.tags.get("prefect.flow_run_id") == orphan]
    assert sorted(r.data.tags.get("prefect.task_name", "flow") for r in runs) == ["flow", "nap"]
    ended_at = int(crashed.timestamp.timestamp() * 1000)
    for run in runs:
        assert run.info.status == "FAILED"
        assert run.info.end_time == ended_at
        assert run.data.tags["prefect.state"] == "Crashed"
        assert run.data.tags["prefect.state_message"] == "flow run stopped heartbeating"
        assert run.data.tags["flowtrack.error"].startswith("Prefect flow run Crashed")
        assert run.data.tags[RECONCILED_TAG] == "from the flow run's state in Prefect"
    assert _reconcile("--grace", "0") == "No RUNNING Prefect runs.\n"


@pytest.mark.slow
def test_a_tracked_flow_starting_reconciles_in_the_background(orphan: str) -> None:
    _crash(orphan)
    done = run_python(
        """
        from flowtrack_prefect import reconcile
        from tests.prefect.flows import mapped
        print(mapped())
        print(reconcile.wait_background(60))
        """,
        {"PYTHONPATH": str(ROOT), "FLOWTRACK_PREFECT_RECONCILE_GRACE": "0"},
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-4:] == ["[1,", "4,", "9]", "True"]
    assert _running() == []
    orphans = runs_of(EXPERIMENT)
    statuses = {r.data.tags.get("prefect.task_name", "flow"): r.info.status for r in orphans}
    assert statuses == {"flow": "FAILED", "nap": "FAILED"}
    (mapped,) = [r for r in runs_of("prefect-tests") if "prefect.task_run_id" not in r.data.tags]
    assert mapped.info.status == "FINISHED"  # the flow that reconciled is itself unaffected


def _run(**tags: str) -> Run:
    info = RunInfo("r1", "1", "name", "RUNNING", 1_000, None, "active", "/tmp/a")
    return Run(info, RunData(tags=tags))


def _state(type_: str, at: int = 5_000, message: str = "") -> PrefectState:
    return PrefectState(type_, type_.title(), message, at)


@pytest.mark.parametrize(
    ("flow", "task", "status", "whose"),
    [
        ("COMPLETED", None, "FINISHED", "flow run"),
        ("CANCELLED", None, "KILLED", "flow run"),
        ("CANCELLING", None, "KILLED", "flow run"),
        ("FAILED", None, "FAILED", "flow run"),
        ("CRASHED", "RUNNING", "FAILED", "flow run"),
        ("CRASHED", "COMPLETED", "FINISHED", "task run"),
        ("RUNNING", "COMPLETED", "FINISHED", "task run"),
        ("RUNNING", "RUNNING", None, ""),
        ("PAUSED", None, None, ""),
    ],
)
def test_which_prefect_state_ends_a_run(
    flow: str, task: str | None, status: str | None, whose: str
) -> None:
    run = _run(**{"prefect.flow_run_id": "f", "prefect.task_run_id": "t"})
    tasks = {"t": _state(task, 4_000)} if task else {}
    outcome = decide(run, {"f": _state(flow)}, tasks, now_ms=100_000, grace_ms=0)
    assert (outcome.status, outcome.whose) == (status, whose)
    if status:
        assert outcome.end_time == (4_000 if whose == "task run" else 5_000)


def test_decide_keeps_the_end_after_the_start_and_respects_the_grace() -> None:
    run = _run(**{"prefect.flow_run_id": "f"})
    early = decide(run, {"f": _state("CRASHED", at=500)}, {}, now_ms=100_000, grace_ms=0)
    assert early.end_time == 1_000  # a Prefect clock behind ours: never before the run's start
    recent = decide(run, {"f": _state("CRASHED", at=90_000)}, {}, now_ms=100_000, grace_ms=60_000)
    assert recent.status is None and "grace" in recent.reason
    unknown = decide(run, {}, {}, now_ms=100_000, grace_ms=0)
    assert unknown.status is None and unknown.reason == "not found in the Prefect API"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_prefect_api_down_is_a_clear_error_and_changes_nothing() -> None:
    flowtrack.set_experiment("prefect-orphans")
    left = flowtrack.start_run(tags={"prefect.flow_run_id": "8f0e8d52-7a47-4d0e-9a4f-7f3c1c1e2a11"})
    flowtrack.flush()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "flowtrack"), "prefect", "reconcile", "--grace", "0"],
        env={**os.environ, "PREFECT_API_URL": f"http://127.0.0.1:{_closed_port()}/api"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "could not read the Prefect API (PREFECT_API_URL)" in done.stderr
    assert "Traceback" not in done.stderr
    assert flowtrack.Client().get_run(left.info.run_id).info.status == "RUNNING"
    flowtrack.end_run()

"""Faults: the store down during a DAG run, a listener error, a malformed [flowtrack] section."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any

import flowtrack
import pytest
from airflow.listeners import hookimpl

from tests.airflow.conftest import AIRFLOW_ENV
from tests.airflow.helpers import dag_run, load_dag, runs_of, tasks_of
from tests.core.faults import missing_pg_database

pytestmark = pytest.mark.slow

DAGS_TEST = ("-m", "airflow", "dags", "test", "ft_three_tasks")


@pytest.mark.postgres
def test_store_down_during_airflow_dags_test_then_sync() -> None:
    """`airflow dags test` (its own process) with the store down: the DAG succeeds, and its runs
    arrive after `flowtrack sync`."""
    from click.testing import CliRunner
    from flowtrack.cli.main import cli

    with missing_pg_database() as (uri, bring_up):
        done = _airflow(*DAGS_TEST, FLOWTRACK_TRACKING_URI=uri, FLOWTRACK_FLUSH_TIMEOUT="1")
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
        assert "state=success" in output, output[-4000:]
        assert "will be delivered" in output  # the journal kept the events
        bring_up()
        synced = CliRunner().invoke(cli, ["sync"])
        assert synced.exit_code == 0, synced.output
        flowtrack.set_tracking_uri(uri)
        runs = runs_of("ft_three_tasks")
        (top,) = [r for r in runs if "airflow.task_id" not in r.data.tags]
        assert top.info.status == "FINISHED"
        tasks = tasks_of(runs, dag_run(runs, top.data.tags["airflow.run_id"]))
        assert sorted(tasks) == ["extract", "load", "transform"]
        assert all(t.info.status == "FINISHED" for t in tasks.values())
        assert tasks["extract"].data.metrics == {"rows": 3.0}


class _Witness:
    """Another listener, called after flowtrack's (trylast), as OpenLineage's could be."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl(trylast=True)
    def on_task_instance_running(self, task_instance: Any) -> None:
        self.seen.append(task_instance.task_id)


def test_listener_error_is_logged_and_the_dag_and_other_listeners_go_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from airflow.sdk.listener import get_listener_manager
    from flowtrack_airflow import recorder

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug in flowtrack")

    monkeypatch.setattr(recorder, "task_started", broken)
    witness = _Witness()
    manager = get_listener_manager()
    manager.pm.register(witness)
    try:
        with caplog.at_level(logging.WARNING, logger="flowtrack.airflow"):
            result = load_dag("ft_three_tasks").test()
    finally:
        manager.pm.unregister(witness)
    assert "success" in str(result.state).lower()
    assert witness.seen == ["extract", "transform", "load"]
    failed = "on_task_instance_running listener failed"
    failures = [r for r in caplog.records if failed in r.message]
    assert len(failures) == 3
    assert failures[0].exc_info is not None and "a bug in flowtrack" in str(failures[0].exc_info[1])
    # The task ends still record the runs: none is left RUNNING (each end creates its run).
    runs = runs_of("ft_three_tasks")
    assert sorted(r.info.run_name for r in runs if "airflow.task_id" in r.data.tags) == [
        "extract",
        "load",
        "transform",
    ]
    assert {r.info.status for r in runs if r.info.source_type == "airflow"} == {"FINISHED"}


def test_malformed_config_disables_tracking_with_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AIRFLOW__FLOWTRACK__ENABLED", "maybe")
    with caplog.at_level(logging.ERROR, logger="flowtrack.airflow"):
        result = load_dag("ft_three_tasks").test()
    assert "success" in str(result.state).lower()
    errors = [r.message for r in caplog.records if r.name == "flowtrack.airflow"]
    assert errors == [
        "flowtrack: tracking is off: the Airflow config is malformed: "
        "invalid [flowtrack] enabled 'maybe': must be true or false"
    ]
    # No DAG or task run was recorded; the task's own log_metric still made its plain run.
    client = flowtrack.Client()
    experiments = [e.name for e in client.search_experiments().items]
    assert "ft_three_tasks" not in experiments
    runs = [r for e in experiments for r in client.search_runs(e).items]
    assert [(r.info.source_type, r.data.metrics) for r in runs] == [("python", {"rows": 3.0})]


def _airflow(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env={**os.environ, **AIRFLOW_ENV, **env},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_malformed_config_in_a_real_airflow_process_is_one_error_and_no_tracking() -> None:
    """`airflow dags test` in its own process: the plugin reads the config as Airflow loads it,
    logs the error once (not once per hook or per task), registers no listener, and the DAG
    runs as if flowtrack were absent."""
    done = _airflow(*DAGS_TEST, AIRFLOW__FLOWTRACK__ENABLED="maybe")
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "state=success" in output, output[-4000:]
    error = "invalid [flowtrack] enabled 'maybe': must be true or false"
    assert output.count(error) == 1, output[-4000:]
    assert "ft_three_tasks" not in [e.name for e in flowtrack.Client().search_experiments().items]


def test_tracking_off_registers_no_listener() -> None:
    """`enabled = false`: Airflow calls nothing of flowtrack's (no listener in the plugin)."""
    show = (
        "from flowtrack_airflow.airflow_plugin import FlowtrackAirflowPlugin as Plugin; "
        "print(Plugin.listeners)"
    )
    done = _airflow("-c", show, AIRFLOW__FLOWTRACK__ENABLED="false")
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr

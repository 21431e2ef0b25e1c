"""Shared pieces of the registry tests: fresh names and a finished run with a model folder."""

from __future__ import annotations

import uuid
from pathlib import Path

import flowtrack


def fresh_name(prefix: str = "churn") -> str:
    # PostgreSQL tests share one database: every test uses fresh names.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def finished_run(inputs: tuple[Path, ...] = (), outputs: tuple[Path, ...] = ()) -> str:
    """A finished run with a model folder in its artifacts, and these inputs and outputs."""
    with flowtrack.start_run() as run:
        for path in inputs:
            flowtrack.log_input(path)
        for path in outputs:
            flowtrack.log_output(path)
        flowtrack.log_text("weights", "model/model.txt")
    assert flowtrack.flush()
    return run.info.run_id


def registry_client(store_uri: str) -> flowtrack.Client:
    """A client on ``store_uri`` with a fresh experiment as the active one."""
    flowtrack.set_tracking_uri(store_uri)
    flowtrack.set_experiment(fresh_name("registry"))
    return flowtrack.Client()

"""flowtrack plugin of the Prefect adapter.

It tags runs started inside a Prefect deployment's flow run with its id, which Prefect
workers export as ``PREFECT__FLOW_RUN_ID`` (so a plain ``flowtrack.start_run`` in a flow's
subprocess says which flow run it belongs to), and adds ``flowtrack prefect reconcile``. The
flow and task runs themselves are recorded by `flowtrack_prefect.tracked`; see
docs/prefect.md.
"""

from __future__ import annotations

import os

import flowtrack
from flowtrack.plugins.records import CommandSpec


@flowtrack.hookimpl
def flowtrack_run_context() -> dict[str, str]:
    flow_run_id = os.environ.get("PREFECT__FLOW_RUN_ID")
    return {"prefect.flow_run_id": flow_run_id} if flow_run_id else {}


@flowtrack.hookimpl
def flowtrack_register_commands() -> list[CommandSpec]:
    from flowtrack_prefect.cli import prefect  # click only: Prefect loads when a command runs

    return [CommandSpec(prefect)]

"""flowtrack plugin of the Prefect adapter.

Today it tags runs started inside a Prefect deployment's flow run with its id, which Prefect
workers export as ``PREFECT__FLOW_RUN_ID``. The ``tracked`` decorator comes with the Prefect
adapter issue.
"""

from __future__ import annotations

import os

import flowtrack


@flowtrack.hookimpl
def flowtrack_run_context() -> dict[str, str]:
    flow_run_id = os.environ.get("PREFECT__FLOW_RUN_ID")
    return {"prefect.flow_run_id": flow_run_id} if flow_run_id else {}

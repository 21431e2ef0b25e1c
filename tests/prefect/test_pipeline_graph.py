"""A real Prefect flow run as the web UI's Pipelines page draws it: each task run carries the
task runs its inputs came from (`prefect.upstream`, from Prefect's task_inputs), and the
pipeline graph's edges follow the data."""

from __future__ import annotations

from pathlib import Path

import flowtrack
import pytest
from flowtrack.ui import pipelines

from tests.prefect import flows
from tests.prefect.helpers import by_task, flow_run, runs_of

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_flow_run_graph_follows_task_inputs(tmp_path: Path) -> None:
    data = tmp_path / "numbers.txt"
    data.write_text("1\n2\n3\n")
    state = flows.tracked_three(str(data), 2.0, return_state=True)
    assert state.is_completed()
    runs = runs_of("prefect-tests")
    top = flow_run(runs, str(state.state_details.flow_run_id))
    (load,) = by_task(runs, "load")
    (scale,) = by_task(runs, "scale")
    assert scale.data.tags["prefect.upstream"] == load.data.tags["prefect.task_run_id"]
    assert "prefect.upstream" not in load.data.tags

    found = pipelines.pipeline(flowtrack.Client().store, top.info.run_id)
    assert found["edges_from"] == "recorded"
    names = {t["run_id"]: t["task"] for t in found["tasks"]}
    assert {(names[e["source"]], names[e["target"]]) for e in found["edges"]} == {
        ("load", "scale"),
        ("scale", "total"),
    }
    assert {t["state"] for t in found["tasks"]} == {"success"}
    assert found["run"]["name"] == "three-tasks"

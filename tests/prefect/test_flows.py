"""Real Prefect flows against a real Prefect server: runs, task runs, subflows, failures."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import flowtrack
import pytest
from prefect import Flow

from tests.prefect import flows
from tests.prefect.helpers import by_task, children, flow_run, runs_of

pytestmark = pytest.mark.usefixtures("prefect_server")


def _flow_run_id(state: object) -> str:
    return str(state.state_details.flow_run_id)  # type: ignore[attr-defined]


def test_three_task_flow(tmp_path: Path) -> None:
    data = tmp_path / "numbers.txt"
    data.write_text("1\n2\n3\n")
    assert isinstance(flows.tracked_three, Flow)
    assert flows.tracked_three.name == "three-tasks"
    flows.calls.clear()
    state = flows.tracked_three(
        str(data), 2.0, {"a": {"b": 1}, "long": "x" * 7000}, return_state=True
    )
    assert state.is_completed() and state.result() == 12.0
    assert flows.calls == ["user:Completed"]  # the flow's own hook still runs

    runs = runs_of("prefect-tests")
    top = flow_run(runs, _flow_run_id(state))
    assert top.info.status == "FINISHED" and top.info.parent_run_id is None
    assert top.info.source_type == "prefect"
    assert top.data.tags["prefect.flow_name"] == "three-tasks"
    assert top.data.tags["prefect.ui_url"].endswith(f"/runs/flow-run/{_flow_run_id(state)}")
    assert top.info.source_ref["url"] == top.data.tags["prefect.ui_url"]  # the UI links to it
    assert top.data.params["factor"] == "2.0" and top.data.params["path"] == str(data)
    assert top.data.params["config.a.b"] == "1"
    assert top.data.params["config.long"].endswith("[truncated by flowtrack: 7000 characters]")
    assert len(top.data.params["config.long"]) == 6000

    tasks = children(runs, top)
    assert sorted(r.data.tags["prefect.task_name"] for r in tasks) == ["load", "scale", "total"]
    for run in tasks:
        assert run.info.status == "FINISHED"
        assert run.data.tags["prefect.state"] == "Completed"
        assert run.data.tags["prefect.attempts"] == "1"
        assert float(run.data.tags["prefect.duration_s"]) >= 0
        assert run.info.end_time >= run.info.start_time
    (load,) = by_task(tasks, "load")
    assert load.data.metrics == {"rows": 3.0}  # logged inside the task, no run handling
    assert load.data.params == {"path": str(data)}
    (total,) = by_task(tasks, "total")
    assert total.data.metrics == {"total": 12.0}
    assert total.data.tags["prefect.result"] == "12.0"

    client = flowtrack.Client()
    (read,) = client.get_run_inputs(load.info.run_id)
    assert read.uri == str(data.resolve())
    (written,) = client.get_run_outputs(load.info.run_id)  # a list -> JSON, by content
    assert written.name == "load.json"
    (scaled,) = client.get_run_outputs(by_task(tasks, "scale")[0].info.run_id)
    assert scaled.digest != written.digest


def test_failing_task_with_retries() -> None:
    flows.attempts.clear()
    state = flows.failing(return_state=True)
    assert state.is_failed()
    assert len(flows.attempts) == 3
    runs = runs_of("prefect-tests")
    top = flow_run(runs, _flow_run_id(state))
    assert top.info.status == "FAILED"
    (task_run,) = children(runs, top)  # one run for the task run, however many attempts
    assert task_run.info.status == "FAILED"
    assert task_run.data.tags["prefect.attempts"] == "3"
    assert task_run.data.tags["prefect.retries"] == "2"
    assert task_run.data.tags["flowtrack.error"] == "ValueError: flaky failed on attempt 3"


def test_subflow_is_a_nested_run() -> None:
    state = flows.parent(return_state=True)
    assert state.result() == 5
    runs = runs_of("prefect-tests")
    top = flow_run(runs, _flow_run_id(state))
    subflows = children(runs, top)
    assert sorted(r.data.tags["prefect.flow_name"] for r in subflows) == ["child", "child"]
    assert sorted(r.data.metrics["child_x"] for r in subflows) == [1.0, 2.0]
    assert all(r.info.status == "FINISHED" for r in subflows)


def test_mapped_task_gives_one_run_per_task_run() -> None:
    state = flows.mapped(return_state=True)
    assert state.result() == [1, 4, 9]
    runs = runs_of("prefect-tests")
    mapped = children(runs, flow_run(runs, _flow_run_id(state)))
    assert len(mapped) == 3
    assert len({r.data.tags["prefect.task_run_id"] for r in mapped}) == 3
    assert sorted(r.data.params["x"] for r in mapped) == ["1", "2", "3"]


def test_async_flow_and_tasks() -> None:
    state = asyncio.run(flows.async_flow(3, return_state=True))
    assert state.is_completed()
    runs = runs_of("prefect-tests")
    top = flow_run(runs, _flow_run_id(state))
    tasks = children(runs, top)
    # Each concurrent task's metric landed in its own run.
    assert sorted((r.data.params["x"], r.data.metrics["x"]) for r in tasks) == [
        ("0", 0.0),
        ("1", 1.0),
        ("2", 2.0),
    ]


def test_unversionable_result_is_recorded_unversioned(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="flowtrack.prefect"):
        state = flows.opaque_flow(return_state=True)
    assert state.is_completed() and state.result() == "Opaque"
    runs = runs_of("prefect-tests")
    top = flow_run(runs, _flow_run_id(state))
    assert top.info.status == "FINISHED"
    (task_run,) = children(runs, top)
    assert task_run.info.status == "FINISHED"
    assert task_run.data.tags["flowtrack.prefect.unversioned"] == "tests.prefect.flows.Opaque"
    assert flowtrack.Client().get_run_outputs(task_run.info.run_id) == []
    assert "result of task 'make_opaque'" in caplog.text and "not versioned" in caplog.text


def test_flow_that_raises_fails_its_run_and_reraises_unchanged() -> None:
    flows.raised.clear()
    with pytest.raises(flows.BoomError) as caught:
        flows.raising("bad input 42")
    assert caught.value is flows.raised[0]
    (top,) = [
        r for r in runs_of("prefect-tests") if r.data.tags.get("prefect.flow_name") == "raising"
    ]
    assert top.info.status == "FAILED"
    assert top.data.tags["flowtrack.error"] == "BoomError: bad input 42"
    assert flowtrack.active_run() is None  # nothing left active in the caller


def test_lineage_between_task_runs(tmp_path: Path) -> None:
    state = flows.lineage(str(tmp_path), return_state=True)
    assert state.result() == 3
    runs = runs_of("prefect-tests")
    tasks = children(runs, flow_run(runs, _flow_run_id(state)))
    (writer,), (reader,), (arrays,) = (
        by_task(tasks, n) for n in ("write_table", "read_table", "to_array")
    )
    client = flowtrack.Client()
    # The file one task returned is its output, and the input of the task it was passed to.
    producer = client.get_producer(tmp_path / "table.txt")
    assert producer is not None and producer.info.run_id == writer.info.run_id
    (read,) = client.get_run_inputs(reader.info.run_id)
    (written,) = client.get_run_outputs(writer.info.run_id)
    assert read.version_id == written.version_id
    assert [r.info.run_id for r in client.get_runs_reading(read.version_id)] == [reader.info.run_id]
    (frame,) = client.get_run_outputs(reader.info.run_id)
    assert frame.name == "read_table.parquet" and frame.size > 0
    (array,) = client.get_run_outputs(arrays.info.run_id)
    assert array.name == "to_array.npy"
    # The same content is one version: a second run of the flow adds no new table version.
    flows.lineage(str(tmp_path))
    assert len(client.get_dataset_versions(tmp_path / "table.txt")) == 1


def test_crashed_task_and_flow_end_failed() -> None:
    with pytest.raises(flows.AbortError):
        flows.crashing()
    runs = runs_of("prefect-tests")
    (top,) = [r for r in runs if r.data.tags.get("prefect.flow_name") == "crashing"]
    (task_run,) = children(runs, top)
    for run in (top, task_run):
        assert run.info.status == "FAILED"
        assert run.data.tags["prefect.state"] == "Crashed"
    assert task_run.data.tags["flowtrack.error"] == "AbortError: stopped from outside"
    assert flowtrack.active_run() is None

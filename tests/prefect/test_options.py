"""Opting in (tracked_task, enable, the environment), the model, the link artifact, bad input."""

from __future__ import annotations

import flowtrack
import flowtrack_prefect
import pytest
from flowtrack.errors import InvalidInputError
from prefect import flow, task

from tests.conftest import need_module
from tests.core.faults import run_python
from tests.prefect import flows
from tests.prefect.helpers import by_task, children, flow_run, runs_of

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_enable_records_undecorated_flows() -> None:
    @task
    def inc(x: int) -> int:
        return x + 1

    @flow
    def plain(x: int = 1) -> int:
        return inc(x)

    flowtrack_prefect.enable(experiment="prefect-enabled")
    try:
        state = plain(5, return_state=True)
    finally:
        flowtrack_prefect.disable()
    assert state.result() == 6
    runs = runs_of("prefect-enabled")
    top = flow_run(runs, str(state.state_details.flow_run_id))
    (inc_run,) = children(runs, top)
    assert inc_run.data.params == {"x": "5"}
    # Disabled again: a later run of the same flow is not recorded.
    plain(1)
    assert len(runs_of("prefect-enabled")) == 2


def test_tracked_task_outside_a_flow() -> None:
    @flowtrack_prefect.tracked_task
    @task
    def alone(x: int) -> int:
        flowtrack.log_metric("alone", x)
        return x

    flowtrack.set_experiment("prefect-tasks")
    assert alone(7) == 7
    (run,) = by_task(runs_of("prefect-tasks"), "alone")
    assert run.info.status == "FINISHED" and run.data.metrics == {"alone": 7.0}
    assert run.info.parent_run_id is None


def test_environment_variable_enables_every_flow_in_a_process() -> None:
    done = run_python(
        """
        from prefect import flow, task

        @task
        def one() -> int:
            return 1

        @flow
        def from_env() -> int:
            return one()

        print(from_env())
        """,
        {
            "PREFECT_PLUGINS_ENABLED": "true",
            "FLOWTRACK_PREFECT_ENABLE": "1",
            "FLOWTRACK_PREFECT_EXPERIMENT": "prefect-env",
        },
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = runs_of("prefect-env")
    assert sorted(r.data.tags.get("prefect.task_name", "flow") for r in runs) == ["flow", "one"]


def test_register_model_from_the_flow_result() -> None:
    need_module("sklearn")
    state = flows.train(10, return_state=True)
    assert state.is_completed()
    top = flow_run(runs_of("prefect-tests"), str(state.state_details.flow_run_id))
    client = flowtrack.Client()
    (version,) = client.search_model_versions("name='prefect-model'").items
    assert version.run_id == top.info.run_id
    model = flowtrack.models.load(f"models:/prefect-model/{version.version}")
    assert model.predict([[3.0]])[0] == pytest.approx(7.0)


def test_link_artifact_points_to_the_flowtrack_run() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    state = flows.parent(return_state=True)
    flow_run_id = state.state_details.flow_run_id
    top = flow_run(runs_of("prefect-tests"), str(flow_run_id))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    links = [a for a in artifacts if a.key == "flowtrack-run" and a.flow_run_id == flow_run_id]
    assert len(links) == 1
    assert f"http://127.0.0.1:5000/runs/{top.info.run_id}" in str(links[0].data)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"experiment": ""}, "experiment"),
        ({"version_outputs": "yes"}, "version_outputs"),
        ({"register_model": 3}, "register_model"),
    ],
)
def test_bad_options_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError, match=field):
        flowtrack_prefect.tracked(flows.three_tasks, **kwargs)  # type: ignore[arg-type]


def test_tracking_something_else_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="must be a prefect Flow or Task"):
        flowtrack_prefect.tracked(print)  # type: ignore[type-var]


def test_tracked_task_versions_its_result_inside_a_flow_that_does_not() -> None:
    @flowtrack_prefect.tracked_task(version_outputs=True)
    @task
    def listed(n: int) -> list[int]:
        return list(range(n))

    @task
    def unlisted(n: int) -> list[int]:
        return list(range(n))

    @flowtrack_prefect.tracked(experiment="prefect-mixed")
    @flow
    def mixed() -> None:
        listed(3)
        unlisted(3)

    mixed()
    runs = runs_of("prefect-mixed")
    client = flowtrack.Client()
    (versioned,) = by_task(runs, "listed")
    (plain,) = by_task(runs, "unlisted")
    assert [v.name for v in client.get_run_outputs(versioned.info.run_id)] == ["listed.json"]
    assert client.get_run_outputs(plain.info.run_id) == []

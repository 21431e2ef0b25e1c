"""The steps behind the operators, called as the helpers are (no DAG run: fast): what they
record, and bad input failing with the argument and the value, before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import flowtrack
import pytest
from flowtrack_airflow import helpers
from flowtrack_airflow.steps import StepError


def _all_runs() -> list[flowtrack.Run]:
    flowtrack.flush()
    client = flowtrack.Client()
    names = [e.name for e in client.search_experiments().items]
    return [r for name in names for r in client.search_runs(name).items]


def _logged_model() -> str:
    with flowtrack.start_run(run_name="train"):
        return flowtrack.models.log_model(lambda rows: [len(rows)], "model").uri


def test_a_model_folder_is_stored_in_the_steps_run_and_registered(tmp_path: Path) -> None:
    folder = tmp_path / "exported"
    flowtrack.models.save_model(lambda rows: [0] * len(rows), folder)
    found = helpers.register_model(str(folder), "from-folder", stage="Production")
    client = flowtrack.Client()
    version = client.get_model_version("from-folder", found["version"])
    assert found == {
        "name": "from-folder",
        "version": 1,
        "model_uri": "models:/from-folder/1",
        "source": f"runs:/{version.run_id}/model",
        "run_id": version.run_id,
    }
    assert version.current_stage == "Production"
    # Outside a recorded task the step has a run of its own, which the version links to.
    assert version.tags["flowtrack.registered_by_run"] == version.run_id
    run = client.get_run(version.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["flowtrack.registered_model"] == "models:/from-folder/1"
    loaded = flowtrack.models.load("models:/from-folder/1")
    assert list(loaded.predict([[1], [2]])) == [0, 0]


def test_metrics_into_a_given_run_and_from_a_rendered_template() -> None:
    with flowtrack.start_run() as other:  # e.g. a training run another system runs
        # A Jinja template renders a dict as its Python repr, read here without evaluating code.
        logged = helpers.log_metrics("{'auc': 0.5, 'val': {'f1': 0.25}}", run_id=other.info.run_id)
    assert logged == {"auc": 0.5, "val.f1": 0.25}
    run = flowtrack.Client().get_run(other.info.run_id)
    assert run.data.metrics == {"auc": 0.5, "val.f1": 0.25}


def test_remote_data_is_versioned_by_reference(tmp_path: Path) -> None:
    data = tmp_path / "big.bin"
    data.write_bytes(b"x" * 1000)
    found = helpers.version_data(f"file://{data}", mode="reference", as_output=False)
    assert found["digest"].startswith("ref:") and found["mode"] == "reference"
    assert found["pushed"] is None and found["remote"] is None


def _bad_register(tmp_path: Path) -> list[tuple[Callable[[], Any], str]]:
    (tmp_path / "not-a-model").mkdir()
    zeros = "0" * 32
    return [
        (lambda: helpers.register_model(None, "m"), "invalid model_uri None"),
        (lambda: helpers.register_model(_logged_model(), "a/b"), "invalid name 'a/b'"),
        (lambda: helpers.register_model(_logged_model(), "m", alias="latest"), "alias 'latest'"),
        (lambda: helpers.register_model(_logged_model(), "m", stage="Prod"), "stage 'Prod'"),
        (lambda: helpers.register_model(_logged_model(), "m", tags=["x"]), "invalid tags ['x']"),
        (
            lambda: helpers.register_model(str(tmp_path / "not-a-model"), "m"),
            "is not a flowtrack model folder",
        ),
        (lambda: helpers.register_model("models:/m/1", "m"), "is a registered version"),
        (
            lambda: helpers.register_model(f"runs:/{zeros}/model", "m"),
            f"run {zeros} does not exist",
        ),
        (
            lambda: helpers.register_model(_logged_model().replace("/model", "/elsewhere"), "m"),
            "has no flowtrack model at 'elsewhere'",
        ),
    ]


def _bad_data(tmp_path: Path) -> list[tuple[Callable[[], Any], str]]:
    there = tmp_path / "there.csv"
    there.write_text("a\n")
    return [
        (lambda: helpers.version_data(tmp_path / "gone.csv"), "invalid path"),
        (lambda: helpers.version_data(there, push=True), "is not inside a flowtrack data repo"),
        (lambda: helpers.version_data(there, remote="origin"), "push is False"),
        (lambda: helpers.version_data(there, mode="copy"), "invalid mode 'copy'"),
        (lambda: helpers.version_data("s3://bucket/key", push=True), "is remote data"),
    ]


def _bad_metrics(tmp_path: Path) -> list[tuple[Callable[[], Any], str]]:
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    return [
        (lambda: helpers.log_metrics({"auc": "high"}), "invalid value of metric 'auc' 'high'"),
        (helpers.log_metrics, "nothing to log"),
        (lambda: helpers.log_metrics(file=tmp_path / "none.json"), "does not exist"),
        (lambda: helpers.log_metrics(file=listed), "must hold a mapping of names to numbers"),
        (lambda: helpers.log_metrics({"a": 1}, run_id="f" * 32), "invalid run_id 'ffff"),
        (lambda: helpers.log_metrics("__import__('os')"), "must be a dict"),
    ]


@pytest.mark.parametrize("cases", [_bad_register, _bad_data, _bad_metrics])
def test_bad_input_names_the_argument_and_writes_nothing(
    cases: Callable[[Path], list[tuple[Callable[[], Any], str]]], tmp_path: Path
) -> None:
    for call, expected in cases(tmp_path):
        before = {r.info.run_id for r in _all_runs()}
        with pytest.raises(StepError) as caught:
            call()
        assert expected in str(caught.value), str(caught.value)
        # Runs made by the case itself (the model it registers) aside, no step run was left.
        new = [r for r in _all_runs() if r.info.run_id not in before]
        assert [r.info.run_name for r in new if r.info.run_name != "train"] == []
    assert flowtrack.Client().search_registered_models().items == []


def test_decorator_options_are_checked_when_the_dag_is_parsed() -> None:
    from airflow.sdk import DAG, task

    with pytest.raises(StepError) as caught, DAG("ft_parse_check", schedule=None):

        @task.flowtrack(register_model="churn", version_output=True)
        def both() -> int:
            return 1

        both()
    assert "invalid version_output True: and register_model" in str(caught.value)


@pytest.mark.postgres
def test_a_store_that_is_down_does_not_fail_versioning_or_metrics(tmp_path: Path) -> None:
    """Steps logging into a run go through the journal: the store down costs them nothing,
    and what they logged arrives once it is back."""
    from tests.core.faults import missing_pg_database

    data = tmp_path / "rows.csv"
    data.write_text("a\n1\n")
    with missing_pg_database() as (uri, bring_up):
        flowtrack.set_tracking_uri(uri)
        with flowtrack.start_run() as run:
            found = helpers.version_data(data)
            helpers.log_metrics({"auc": 0.75})
        assert found["uri"] == str(data)
        bring_up()  # type: ignore[operator]
        assert flowtrack.flush(timeout=60)  # this process's writer delivers its journal
        client = flowtrack.Client()
        assert client.get_run(run.info.run_id).data.metrics == {"auc": 0.75}
        (output,) = client.get_run_outputs(run.info.run_id)
        assert output.digest == found["digest"]

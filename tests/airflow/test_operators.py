"""The operators, @task.flowtrack and the helpers in real DAG runs (`dag.test()`)."""

from __future__ import annotations

from pathlib import Path

import flowtrack
import pytest

from tests.airflow.helpers import dag_run, load_dag, runs_of, tasks_of

pytestmark = pytest.mark.slow


@pytest.fixture
def ops_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A flowtrack data repo with a folder remote as its default, and a metrics file."""
    from flowtrack.data.remote import add_remote
    from flowtrack.data.repo import DataRepo

    work = tmp_path / "work"
    work.mkdir()
    add_remote(DataRepo.init(work), "shared", str(tmp_path / "remote"))
    (work / "metrics.yaml").write_text("rmse: 1.5\ndetail:\n  mae: 0.75\n")
    (work / "broken.yaml").write_text("rmse: [1.5\n")
    monkeypatch.setenv("FT_TEST_OPS_DIR", str(work))
    return work


def test_operators_decorator_and_helpers_in_one_dag(ops_dir: Path) -> None:
    result = load_dag("ft_ops").test()
    runs = runs_of("ft_ops")
    tasks = tasks_of(runs, dag_run(runs, result.run_id))
    failed = {k: t.data.tags.get("flowtrack.error") for k, t in tasks.items()}
    assert "success" in str(result.state).lower(), failed
    client = flowtrack.Client()

    # RegisterModelOperator: the model train logged, registered from its XCom'd runs:/ URI.
    version = client.get_model_version("ft-ops-model", 1)
    assert version.run_id == tasks["train"].info.run_id
    assert version.source == f"runs:/{tasks['train'].info.run_id}/model"
    assert version.aliases == ["champion"] and version.current_stage == "Staging"
    assert version.tags["team"] == "risk"
    assert version.tags["flowtrack.registered_by_run"] == tasks["register"].info.run_id
    assert version.tags["airflow.task_id"] == "register"
    register = tasks["register"].data.tags
    assert register["flowtrack.registered_model"] == "models:/ft-ops-model/1"

    # VersionDataOperator: the file is an output of its run, and its object is on the remote.
    (output,) = client.get_run_outputs(tasks["version"].info.run_id)
    assert output.uri == str(ops_dir / "features.csv")
    remote_object = ops_dir.parent / "remote" / "blake3" / output.digest[:2] / output.digest[2:]
    assert remote_object.read_text() == "a,b\n1,2\n3,4\n"
    assert (ops_dir / "features.csv.ft").exists()  # as `flowtrack data add`

    # LogMetricsOperator: from the XCom of evaluate (nested keys flattened), and from a file.
    assert tasks["from_xcom"].data.metrics == {"auc": 0.91, "val.loss": 0.25}
    assert tasks["from_xcom"].data.params == {"threshold": "0.5"}
    assert tasks["from_file"].data.metrics == {"rmse": 1.5, "detail.mae": 0.75}
    (point,) = client.get_metric_history(tasks["from_file"].info.run_id, "rmse")
    assert point.step == 3

    # @task.flowtrack(register_model=...): the returned model logged in the task's run.
    fitted = client.get_model_version("ft-ops-deco", 1)
    assert fitted.run_id == tasks["fit"].info.run_id and fitted.aliases == ["candidate"]
    # Found by name through the provider entry point, as @task.docker is.
    assert tasks["fit"].data.tags["airflow.operator"] == "_FlowtrackDecoratedOperator"
    # @task.flowtrack(version_output=True): the returned dict as canonical JSON.
    (summary,) = client.get_run_outputs(tasks["summary"].info.run_id)
    assert summary.name == "ft_ops.summary.json"
    assert (
        Path(summary.uri).read_text()
        == '{\n  "columns": [\n    "a",\n    "b"\n  ],\n  "rows": 2\n}\n'
    )

    # The XComs the steps pushed, read downstream and logged with a helper inside @task.
    assert tasks["report"].data.metrics == {
        "registered_version": 1.0,
        "pushed": 1.0,
        "fitted_version": 1.0,
    }


def test_bad_input_fails_the_task_naming_the_argument_and_changes_nothing(ops_dir: Path) -> None:
    result = load_dag("ft_ops_bad").test()
    assert "failed" in str(result.state).lower()
    runs = runs_of("ft_ops_bad")
    tasks = tasks_of(runs, dag_run(runs, result.run_id))
    errors = {k: t.data.tags["flowtrack.error"] for k, t in tasks.items()}
    assert {t.info.status for t in tasks.values()} == {"FAILED"}
    zeros = "0" * 32
    assert errors["unknown_run"] == (
        f"StepError: RegisterModelOperator: invalid model_uri 'runs:/{zeros}/model': "
        f"run {zeros} does not exist"
    )
    assert errors["missing_path"] == (
        f"StepError: VersionDataOperator: invalid path '{ops_dir / 'nothing-here.csv'}': "
        "does not exist"
    )
    assert errors["malformed_file"].startswith(
        f"StepError: LogMetricsOperator: invalid file '{ops_dir / 'broken.yaml'}': "
        "is not valid JSON or YAML"
    )
    # Retrying would not help: one try each.
    assert {t.data.tags["airflow.try_number"] for t in tasks.values()} == {"1"}
    assert flowtrack.Client().search_registered_models().items == []
    assert all(not flowtrack.Client().get_run_outputs(t.info.run_id) for t in tasks.values())

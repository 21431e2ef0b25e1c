"""The issue's example end to end, read back through the Client, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import flowtrack
import pytest


def _log_example(tmp_path: Path, experiment: str) -> str:
    report = tmp_path / "report.html"
    report.write_text("<h1>report</h1>")
    flowtrack.set_experiment(experiment)
    with flowtrack.start_run(run_name="baseline") as run:
        flowtrack.log_params({"alpha": 0.5, "l1_ratio": 0.1})
        for step in range(1000):
            flowtrack.log_metric("loss", 1 / (step + 1), step=step)
        flowtrack.set_tag("team", "risk")
        flowtrack.log_artifact(report)
        with flowtrack.start_run(run_name="fold-1", nested=True):
            flowtrack.log_metric("auc", 0.91)
    return run.info.run_id


def test_example_reads_back_completely(tmp_path: Path, store_uri: str) -> None:
    flowtrack.set_tracking_uri(store_uri)
    experiment = f"churn-{uuid.uuid4().hex[:6]}"
    run_id = _log_example(tmp_path, experiment)

    client = flowtrack.Client()
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "baseline"
    assert run.info.end_time is not None and run.info.end_time >= run.info.start_time
    assert run.info.source_type == "python"
    assert run.info.parent_run_id is None
    assert run.data.params == {"alpha": "0.5", "l1_ratio": "0.1"}
    assert run.data.metrics == {"loss": pytest.approx(1 / 1000)}
    assert run.data.tags["team"] == "risk"
    assert "flowtrack.host" in run.data.tags

    history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == list(range(1000))
    assert [m.value for m in history] == pytest.approx([1 / (s + 1) for s in range(1000)])

    assert [a.path for a in client.list_artifacts(run_id)] == ["report.html"]
    local = client.download_artifacts(run_id, "report.html", tmp_path / "dl")
    assert Path(local).read_text() == "<h1>report</h1>"

    children = client.get_children(run_id)
    assert [c.info.run_name for c in children] == ["fold-1"]
    assert children[0].info.parent_run_id == run_id
    assert children[0].data.metrics == {"auc": 0.91}
    assert children[0].info.status == "FINISHED"

    experiment_obj = client.get_experiment_by_name(experiment)
    assert experiment_obj is not None
    found = client.search_runs(experiment, max_results=10).items
    assert {r.info.run_id for r in found} == {run_id, children[0].info.run_id}


def test_failed_block_marks_run_failed() -> None:
    with pytest.raises(ZeroDivisionError), flowtrack.start_run() as run:
        flowtrack.log_metric("x", 1)
        _ = 1 / 0
    assert flowtrack.Client().get_run(run.info.run_id).info.status == "FAILED"


def test_nan_and_inf_are_kept(store_uri: str) -> None:
    flowtrack.set_tracking_uri(store_uri)
    with flowtrack.start_run() as run:
        flowtrack.log_metric("m", float("nan"), step=0)
        flowtrack.log_metric("m", float("inf"), step=1)
        flowtrack.log_metric("m", float("-inf"), step=2)
    values = [m.value for m in flowtrack.Client().get_metric_history(run.info.run_id, "m")]
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf


def test_latest_metric_is_highest_step_not_last_logged() -> None:
    with flowtrack.start_run() as run:
        flowtrack.log_metric("m", 5.0, step=10)
        flowtrack.log_metric("m", 1.0, step=3)
    assert flowtrack.Client().get_run(run.info.run_id).data.metrics["m"] == 5.0


def test_logging_without_a_run_starts_one_as_mlflow_does() -> None:
    flowtrack.log_metric("auto", 1.0)
    active = flowtrack.active_run()
    assert active is not None
    flowtrack.end_run()
    run = flowtrack.Client().get_run(active.info.run_id)
    assert run.data.metrics == {"auto": 1.0}
    assert run.info.status == "FINISHED"


def test_resume_a_finished_run_by_id() -> None:
    with flowtrack.start_run() as run:
        flowtrack.log_param("a", 1)
    with flowtrack.start_run(run_id=run.info.run_id):
        flowtrack.log_metric("later", 2.0)
        flowtrack.log_param("a", 1)  # same value again is fine
    again = flowtrack.Client().get_run(run.info.run_id)
    assert again.data.metrics == {"later": 2.0}
    assert again.info.status == "FINISHED"


def test_log_text_dict_and_folder(tmp_path: Path) -> None:
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    with flowtrack.start_run() as run:
        flowtrack.log_text("hello", "notes/hello.txt")
        flowtrack.log_dict({"k": 1}, "config/params.yaml")
        flowtrack.log_artifacts(folder, "plots")
    client = flowtrack.Client()
    run_id = run.info.run_id
    assert [a.path for a in client.list_artifacts(run_id)] == ["config", "notes", "plots"]
    assert [a.path for a in client.list_artifacts(run_id, "plots")] == ["plots/a.txt", "plots/sub"]
    assert (
        Path(client.download_artifacts(run_id, "config/params.yaml", tmp_path)).read_text()
        == "k: 1\n"
    )
    everything = Path(client.download_artifacts(run_id, "", tmp_path / "all"))
    assert (everything / "plots" / "sub" / "b.txt").read_text() == "b"


def test_client_create_log_and_terminate() -> None:
    client = flowtrack.Client()
    experiment_id = client.create_experiment("explicit", tags={"owner": "me"})
    run = client.create_run(experiment_id, run_name="by-client", tags={"k": "v"})
    client.log_metric(run.info.run_id, "m", 1.5, step=2)
    client.log_param(run.info.run_id, "p", 3)
    client.set_terminated(run.info.run_id, "KILLED")
    got = client.get_run(run.info.run_id)
    assert (got.info.status, got.data.metrics, got.data.params, got.data.tags) == (
        "KILLED",
        {"m": 1.5},
        {"p": "3"},
        {"k": "v"},
    )
    assert client.get_experiment(experiment_id).tags == {"owner": "me"}


def test_run_user_follows_the_user_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    # The user is cached per process, keyed on what getpass.getuser() reads.
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    users = []
    for name in ("alice", "bob", "alice"):
        monkeypatch.setenv("USER", name)
        with flowtrack.start_run() as run:
            pass
        users.append(flowtrack.Client().get_run(run.info.run_id).info.user_id)
    monkeypatch.setenv("LOGNAME", "carol")  # getpass reads LOGNAME before USER
    with flowtrack.start_run() as run:
        pass
    users.append(flowtrack.Client().get_run(run.info.run_id).info.user_id)
    assert users == ["alice", "bob", "alice", "carol"]

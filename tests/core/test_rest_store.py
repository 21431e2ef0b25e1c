"""The fluent API and the Client against a real flowtrack server (FLOWTRACK_TRACKING_URI=http://):
experiments, runs, search, metric history, artifacts (a 50 MB file streamed), lineage, the
registry, and errors that keep their type and message across the wire."""

from __future__ import annotations

import math
import os
import tracemalloc
import uuid
from pathlib import Path

import flowtrack
import pytest
from flowtrack.entities import Metric, Param, RunTag, ViewType
from flowtrack.errors import ConflictError, InvalidInputError, NotFoundError
from flowtrack.registry import register_model
from flowtrack.store.rest.store import RestStore
from flowtrack.tracking.stores import get_artifact_store, get_store

from tests.core.serverfixtures import Server, flowtrack_server, use_server  # noqa: F401


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client(use_server: Server) -> flowtrack.Client:  # noqa: F811
    return flowtrack.Client()


def test_the_rest_store_is_chosen_by_the_uri(use_server: Server) -> None:  # noqa: F811
    store = get_store(flowtrack.get_tracking_uri())
    assert isinstance(store, RestStore)
    assert store.uri == use_server.url


def test_experiments(client: flowtrack.Client) -> None:
    name = _name("exp")
    experiment_id = client.create_experiment(name, tags={"team": "risk"})
    found = client.get_experiment(experiment_id)
    assert (found.name, found.tags, found.lifecycle_stage) == (name, {"team": "risk"}, "active")
    assert found.artifact_location.endswith(f"/api/v1/experiments/{experiment_id}/artifacts")
    assert client.get_experiment_by_name(name) == found
    assert client.get_experiment_by_name(_name("missing")) is None
    with pytest.raises(ConflictError, match="already exists"):
        client.create_experiment(name)

    client.rename_experiment(experiment_id, name + "-renamed")
    client.set_experiment_tag(experiment_id, "owner", "ana")
    assert client.get_experiment(experiment_id).tags == {"team": "risk", "owner": "ana"}
    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY, max_results=50_000)
    assert experiment_id in {e.experiment_id for e in deleted.items}
    client.restore_experiment(experiment_id)
    active = client.search_experiments(name_like=f"{name}%")
    assert [e.name for e in active.items] == [name + "-renamed"]
    assert client.store.count_runs([experiment_id]) == {experiment_id: 0}


def test_a_run_logged_with_the_fluent_api_reads_back(client: flowtrack.Client) -> None:
    flowtrack.set_experiment(_name("fluent"))
    with flowtrack.start_run(run_name="parent", tags={"team": "risk"}) as run:
        flowtrack.log_params({"alpha": 0.5, "model": "elasticnet"})
        for step in range(50):
            flowtrack.log_metrics({"loss": 1 / (step + 1), "acc": step / 50}, step=step)
        flowtrack.log_metric("odd", math.nan)
        flowtrack.log_metric("big", math.inf)
        flowtrack.set_tag("stage", "dev")
        with flowtrack.start_run(run_name="child", nested=True) as child:
            flowtrack.log_metric("auc", 0.91)
    found = client.get_run(run.info.run_id)
    assert (found.info.status, found.info.run_name) == ("FINISHED", "parent")
    assert found.data.params == {"alpha": "0.5", "model": "elasticnet"}
    assert found.data.metrics["loss"] == 1 / 50 and found.data.metrics["acc"] == 49 / 50
    assert math.isnan(found.data.metrics["odd"]) and found.data.metrics["big"] == math.inf
    assert found.data.tags["stage"] == "dev" and found.data.tags["team"] == "risk"
    assert "flowtrack.host" in found.data.tags
    assert [c.info.run_id for c in client.get_children(run.info.run_id)] == [child.info.run_id]
    assert client.get_run(child.info.run_id).info.parent_run_id == run.info.run_id
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1 / (s + 1)) for s in range(50)]


def test_client_writes_and_refusals(client: flowtrack.Client) -> None:
    experiment_id = client.create_experiment(_name("client"))
    run = client.create_run(experiment_id, run_name="by-client", tags={"k": "v"})
    client.log_batch(
        run.info.run_id,
        metrics=[Metric("m", 1.0, 1000, 0), Metric("m", -math.inf, 1001, 1)],
        params=[Param("p", "1")],
        tags=[RunTag("t", "x")],
    )
    client.log_metric(run.info.run_id, "single", 3.0, step=7)
    client.set_tag(run.info.run_id, "gone", "soon")
    client.delete_tag(run.info.run_id, "gone")
    with pytest.raises(ConflictError, match="already has value '1'"):
        client.log_param(run.info.run_id, "p", "2")
    client.update_run(run.info.run_id, name="renamed")
    client.set_terminated(run.info.run_id, "FAILED")
    found = client.get_run(run.info.run_id)
    assert (found.info.status, found.info.run_name) == ("FAILED", "renamed")
    assert found.data.metrics == {"m": -math.inf, "single": 3.0}
    assert found.data.tags["t"] == "x" and "gone" not in found.data.tags
    with pytest.raises(ConflictError, match="the run is FAILED"):
        client.log_metric(run.info.run_id, "late", 1.0)
    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    client.restore_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"


def test_errors_keep_their_type_field_and_value(client: flowtrack.Client) -> None:
    with pytest.raises(NotFoundError, match=r"run 'f+' does not exist") as missing:
        client.get_run("f" * 32)
    assert (missing.value.kind, missing.value.ident) == ("run", "f" * 32)
    with pytest.raises(NotFoundError, match="experiment"):
        client.get_experiment("987654")
    with pytest.raises(InvalidInputError) as bad:
        client.search_runs(client.create_experiment(_name("e")), filter="metrics.auc >>> 1")
    assert (bad.value.field, bad.value.value) == ("filter", ">>>")
    assert "expected a comparison operator" in str(bad.value)
    with pytest.raises(InvalidInputError) as bad_name:
        client.store.create_experiment("   ")
    assert (bad_name.value.field, bad_name.value.value) == ("experiment name", "   ")
    assert str(bad_name.value) == "invalid experiment name '   ': must not be empty"


def test_search_with_filters_order_and_pages(client: flowtrack.Client) -> None:
    experiment = _name("search")
    flowtrack.set_experiment(experiment)
    for i in range(12):
        with flowtrack.start_run(run_name=f"r{i:02d}"):
            flowtrack.log_param("alpha", str(i % 3))
            flowtrack.log_metric("auc", i / 10)
            flowtrack.set_tag("parity", "even" if i % 2 == 0 else "odd")
    found = client.search_runs(
        experiment,
        filter="metrics.auc > 0.45 and params.alpha = '0' and tags.parity = 'even'",
        order_by=["metrics.auc DESC"],
    )
    assert [r.info.run_name for r in found.items] == ["r06"]
    names: list[str] = []
    token = None
    while True:
        page = client.search_runs(
            experiment, order_by=["metrics.auc ASC"], max_results=5, page_token=token
        )
        names += [r.info.run_name for r in page.items]
        token = page.token
        if token is None:
            break
    assert names == [f"r{i:02d}" for i in range(12)]
    experiment_id = client.get_experiment_by_name(experiment).experiment_id  # type: ignore[union-attr]
    assert client.store.count_runs([experiment_id]) == {experiment_id: 12}


def test_metric_history_downsampled(client: flowtrack.Client) -> None:
    flowtrack.set_experiment(_name("history"))
    with flowtrack.start_run() as run:
        for step in range(10_000):
            value = 100.0 if step == 4321 else (-5.0 if step == 777 else math.sin(step / 100))
            flowtrack.log_metric("wave", value, step=step)
    store = client.store
    assert isinstance(store, RestStore)
    assert len(client.get_metric_history(run.info.run_id, "wave")) == 10_000
    few = store.get_metric_history_downsampled(run.info.run_id, "wave", 200)
    assert len(few) <= 200
    steps = [m.step for m in few]
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 9_999
    assert max(m.value for m in few) == 100.0 and min(m.value for m in few) == -5.0


def _big_file(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        block = os.urandom(1 << 20)
        for i in range(size >> 20):
            f.write(block[i:] + block[:i])
    return path


def test_artifacts_through_the_proxy(client: flowtrack.Client, tmp_path: Path) -> None:
    flowtrack.set_experiment(_name("artifacts"))
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.bin").write_bytes(b"\x00\x01")
    with flowtrack.start_run() as run:
        flowtrack.log_artifact(folder)
        flowtrack.log_artifacts(folder, "copy")
        flowtrack.log_text("done", "notes/status.txt")
        flowtrack.log_dict({"alpha": 0.5}, "config/params.yaml")
        uri = flowtrack.get_artifact_uri("notes/status.txt")
    run_id = run.info.run_id
    artifact_uri = client.get_run(run_id).info.artifact_uri
    assert artifact_uri.startswith(client.tracking_uri + "/api/v1/experiments/")
    assert uri == f"{artifact_uri}/notes/status.txt"
    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in top] == [
        ("config", True),
        ("copy", True),
        ("notes", True),
        ("plots", True),
    ]
    assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "plots/sub")] == [
        ("plots/sub/b.bin", 2)
    ]
    assert client.list_artifacts(run_id, "missing") == []
    local = Path(client.download_artifacts(run_id, "plots", tmp_path / "down"))
    assert (local / "a.txt").read_text() == "a" and (
        local / "sub" / "b.bin"
    ).read_bytes() == b"\x00\x01"
    one = Path(client.download_artifacts(run_id, "notes/status.txt", tmp_path / "one"))
    assert one.read_text() == "done"
    everything = Path(client.download_artifacts(run_id, "", tmp_path / "all"))
    assert (everything / "config" / "params.yaml").read_text() == "alpha: 0.5\n"
    with pytest.raises(InvalidInputError, match="does not exist"):
        client.download_artifacts(run_id, "nope.txt", tmp_path / "x")
    client.log_artifact(run_id, folder / "a.txt", "by-client")
    assert [f.path for f in client.list_artifacts(run_id, "by-client")] == ["by-client/a.txt"]


def test_artifact_paths_that_climb_out_are_refused(client: flowtrack.Client) -> None:
    run = client.create_run(client.create_experiment(_name("climb")))
    store = get_artifact_store(run.info.artifact_uri)
    for bad in ("../other", "a/../../x", "%2e%2e/x", "/etc/passwd"):
        with pytest.raises(InvalidInputError):
            store.list(bad)


@pytest.mark.slow
def test_a_50_mb_artifact_streams_both_ways(
    client: flowtrack.Client,
    use_server: Server,  # noqa: F811
    tmp_path: Path,
) -> None:
    big = _big_file(tmp_path / "model.bin", 50 << 20)
    run = client.create_run(client.create_experiment(_name("big")))
    server_peak_before = _peak_rss(use_server)
    tracemalloc.start()
    client.log_artifact(run.info.run_id, big, "weights")
    local = Path(client.download_artifacts(run.info.run_id, "weights/model.bin", tmp_path / "d"))
    _, client_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert local.stat().st_size == 50 << 20
    assert _same_content(local, big)
    # Streamed: neither side ever held the file. (The server's high-water mark of resident
    # memory may grow a little from buffers; the file is 50 MiB.)
    assert client_peak < 8 << 20, client_peak
    grown = _peak_rss(use_server) - server_peak_before
    assert grown < 25 << 20, grown


def _same_content(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def _peak_rss(server: Server) -> int:
    assert server.proc is not None
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def test_lineage_queries(client: flowtrack.Client, tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("x,y\n1,2\n")
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\x00" * 64)
    flowtrack.set_experiment(_name("lineage"))
    with flowtrack.start_run(run_name="train") as run:
        train = flowtrack.log_input(data)
        flowtrack.log_output(model, name="churn-model")
    with flowtrack.start_run(run_name="reader") as reader:
        flowtrack.log_input(data)
    assert train is not None
    inputs = client.get_run_inputs(run.info.run_id)
    assert [(v.name, v.digest) for v in inputs] == [("train.csv", train.digest)]
    assert [v.name for v in client.get_run_outputs(run.info.run_id)] == ["churn-model"]
    assert train.version_id in {v.version_id for v in client.get_dataset_versions(data)}
    readers = {r.info.run_name for r in client.get_runs_reading(train.version_id)}
    assert {"train", "reader"} <= readers
    producer = client.get_producer(model)
    assert producer is not None and producer.info.run_id == run.info.run_id
    assert reader.info.run_id != run.info.run_id


def test_registry_flow(client: flowtrack.Client, tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("a\n1\n")
    flowtrack.set_experiment(_name("registry"))
    with flowtrack.start_run() as run:
        flowtrack.log_input(data)
        flowtrack.log_text("weights", "model/model.txt")
    name = _name("churn")
    v1 = register_model(f"runs:/{run.info.run_id}/model", name, tags={"k": "v"})
    assert (v1.version, v1.run_id, v1.current_stage) == (1, run.info.run_id, "None")
    run_uri = client.get_run(run.info.run_id).info.artifact_uri
    assert v1.storage_location == f"{run_uri}/model"
    fetched = Path(client.download_artifacts(run.info.run_id, "model", tmp_path / "m"))
    assert (fetched / "model.txt").read_text() == "weights"
    # A proxied artifact URI of the run is accepted as the source of a version.
    v2 = client.create_model_version(name, f"{run_uri}/model", run_id=run.info.run_id)
    assert v2.version == 2 and v2.source == f"runs:/{run.info.run_id}/model"
    client.set_alias(name, "champion", 1)
    assert client.get_model_version_by_alias(name, "champion").version == 1
    client.set_alias(name, "champion", "2")
    assert client.get_registered_model(name).aliases == {"champion": 2}
    moved = client.transition_stage(name, 1, "production")
    assert moved.current_stage == "Production"
    client.transition_stage(name, 2, "Production", archive_existing=True)
    assert client.get_model_version(name, 1).current_stage == "Archived"
    assert [v.version for v in client.get_latest_versions(name, ["Production"])] == [2]
    client.set_model_version_tag(name, 2, "validated", True)
    client.delete_model_version_tag(name, 2, "validated")
    client.set_registered_model_tag(name, "team", "risk")
    client.update_model_version(name, 2, "the good one")
    model = client.get_registered_model(name)
    assert model.tags == {"team": "risk"}
    assert [v.version for v in model.latest_versions] == [2, 1]
    assert [d.name for d in client.get_model_version_inputs(name, 1)] == ["train.csv"]
    found = client.search_model_versions(f"name = '{name}' AND version_number > 1")
    assert [v.version for v in found.items] == [2]
    assert [m.name for m in client.search_registered_models(f"name = '{name}'").items] == [name]
    history = client.get_registry_history(name)
    assert history[0].action == "create_model"
    assert {"set_alias", "transition_stage", "create_version"} <= {e.action for e in history}
    assert all(e.user for e in history)  # the client's user, sent in a header
    client.delete_alias(name, "champion")
    with pytest.raises(NotFoundError, match="alias"):
        client.get_model_version_by_alias(name, "champion")
    renamed = client.rename_registered_model(name, name + "-v2")
    assert renamed.name == name + "-v2"
    client.delete_model_version(name + "-v2", 1)
    client.delete_registered_model(name + "-v2")
    with pytest.raises(NotFoundError):
        client.get_registered_model(name + "-v2")
    other = client.create_registered_model(_name("x")).name
    with pytest.raises(InvalidInputError, match="source"):
        client.create_model_version(other, "/etc/passwd")
    with pytest.raises(InvalidInputError, match="source"):
        client.create_model_version(other, "/etc/passwd", run_id=run.info.run_id)


def test_a_model_tampered_with_on_the_server_is_refused(
    client: flowtrack.Client, tmp_path: Path
) -> None:
    import flowtrack.models as fm

    from tests.core.modelzoo import Doubler

    name = _name("doubler")
    flowtrack.set_experiment(_name("models"))
    with flowtrack.start_run():
        info = fm.log_model(Doubler(), "model", registered_model_name=name)
    assert fm.load(f"models:/{name}/1").predict(3.0) == 6.0
    store = get_artifact_store(client.get_run(info.run_id).info.artifact_uri)
    evil = tmp_path / "python_model.pkl"
    evil.write_bytes(b"tampered")
    store.log_file(evil, "model")
    with pytest.raises(fm.ModelIntegrityError, match=r"python_model\.pkl"):
        fm.load(f"models:/{name}/1")


def test_a_batch_too_large_for_one_request_goes_in_parts(
    client: flowtrack.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flowtrack.store.rest.store as rest

    monkeypatch.setattr(rest, "MAX_BODY_BYTES", 4_000)
    run = client.create_run(client.create_experiment(_name("split")))
    run_id = run.info.run_id
    journal = uuid.uuid4().hex
    events: list[dict[str, object]] = [
        {"op": "metric", "run_id": run_id, "key": "m", "value": float(s), "timestamp": 1,
         "step": s, "seq": s + 1}
        for s in range(300)
    ]  # fmt: skip
    events[150] = {"op": "param", "run_id": "0" * 32, "key": "p", "value": "x", "seq": 151}
    store = client.store
    refused = store.apply_events(events, journal)
    assert [r.event for r in refused] == [events[150]]
    assert store.apply_events(events, journal) == []  # delivered again: skipped, all of it
    assert len(client.get_metric_history(run_id, "m")) == 299

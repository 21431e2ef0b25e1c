"""The MLflow-compatible API with the real MLflow 3 client: an unmodified MLflow script logs to a
running ``flowtrack server`` (SQLite; and PostgreSQL + S3), then flowtrack's own Client reads
the same store and must see the same data (and the reverse: a run made by flowtrack is read by
MLflow). The MLflow scripts run in a subprocess, as a user's would. `serve` (the app in a
thread of the test process) is for test_mlflow_compat_api.py, which also turns --auth on."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flowtrack import Client
from flowtrack.server.app import create_app, open_store
from flowtrack.server.state import ServerState

from tests.core.serverfixtures import Server as RunningServer
from tests.core.serverfixtures import running_server

pytestmark = pytest.mark.slow


@dataclass
class Server:
    url: str
    db_uri: str
    artifacts: Path
    workdir: Path

    def client(self) -> Client:
        return Client(self.db_uri)

    def run_mlflow(
        self, script: str, timeout: float = 240, env: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Run an MLflow script in a fresh interpreter against the server; return the JSON it
        prints after RESULT:."""
        path = self.workdir / f"script_{hashlib.sha1(script.encode()).hexdigest()[:8]}.py"
        path.write_text(textwrap.dedent(script))
        environ = {
            k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "FLOWTRACK_"))
        }
        environ.update(env or {})
        environ.update(
            MLFLOW_TRACKING_URI=self.url,
            MLFLOW_DISABLE_TELEMETRY="true",
            DO_NOT_TRACK="true",
            GIT_PYTHON_REFRESH="quiet",
            # MLflow retries failed requests for minutes by default; a test wants the error.
            MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        )
        done = subprocess.run(
            [sys.executable, str(path)],
            cwd=self.workdir,
            env=environ,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT:")]
        if done.returncode != 0 or not lines:
            pytest.fail(
                f"MLflow script failed ({done.returncode}):\n{done.stdout[-4000:]}\n"
                f"{done.stderr[-6000:]}"
            )
        result: dict[str, Any] = json.loads(lines[-1][len("RESULT:") :])
        return result


@contextlib.contextmanager
def serve(root: Path, auth_environ: dict[str, str] | None = None) -> Iterator[Server]:
    """flowtrack's server app on a free port, in a thread of this process; with
    ``auth_environ`` (FLOWTRACK_ADMIN_USERNAME/PASSWORD), as ``flowtrack server --auth``."""
    import io

    import uvicorn
    from flowtrack.server import auth

    db_uri = f"sqlite:///{root / 'server.db'}"
    artifacts = root / "artifacts"
    store = open_store(db_uri, str(artifacts))
    state = ServerState(store=store, artifacts_destination=str(artifacts))
    if auth_environ is not None:
        auth.enable(state, environ=auth_environ, stderr=io.StringIO())
    app = create_app(state)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    workdir = root / "work"
    workdir.mkdir()
    try:
        yield Server(f"http://127.0.0.1:{port}", db_uri, artifacts, workdir)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        store.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real ``flowtrack server`` process (SQLite, local artifact folder)."""
    root = tmp_path_factory.mktemp("mlflow-compat")
    with running_server(root) as running:
        yield _server(running, root)


def _server(running: RunningServer, root: Path) -> Server:
    if importlib.util.find_spec("mlflow") is None:
        pytest.fail(
            "the mlflow client is missing: ./scripts/setup installs requirements/mlflow.txt"
        )
    workdir = root / "work"
    workdir.mkdir()
    return Server(running.url, running.backend, Path(running.artifacts), workdir)


# One MLflow session does everything a typical training script and its follow-up do; the
# tests below check its outcome from both sides.
SCRIPT = """
import hashlib, json, math, pathlib, tempfile
import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LinearRegression

def sha(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()

def error_of(call):
    try:
        call()
    except MlflowException as exc:
        return exc.error_code
    return None

out = {}
src = pathlib.Path(tempfile.mkdtemp())
(src / "hello.txt").write_text("hello world\\n")
plots = src / "plots"
(plots / "sub").mkdir(parents=True)
(plots / "a.bin").write_bytes(bytes(range(256)) * 40)
(plots / "sub" / "b.txt").write_text("b\\n")

experiment = mlflow.set_experiment("compat")
out["experiment_id"] = experiment.experiment_id
out["experiment_artifact_location"] = experiment.artifact_location
with mlflow.start_run(run_name="parent", tags={"team": "risk"}) as run:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_params({"l1": 0.1, "model": "enet"})
    for i in range(5):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    mlflow.log_metrics({"acc": 0.9, "auc": 0.8}, step=3)
    mlflow.log_metric("odd", float("nan"))
    mlflow.set_tag("stage", "dev")
    mlflow.set_tags({"a": "1", "b": "2"})
    mlflow.delete_tag("b")
    mlflow.log_artifact(str(src / "hello.txt"))
    mlflow.log_artifact(str(plots), artifact_path="figs")
    mlflow.log_dict({"x": 1}, "config/params.json")
    mlflow.log_text("notes", "notes.txt")
    for fold in range(2):
        with mlflow.start_run(run_name=f"fold-{fold}", nested=True) as child:
            mlflow.log_metric("fold_auc", 0.7 + fold / 10)
    out["child_id"] = child.info.run_id
    out["artifact_uri"] = mlflow.get_artifact_uri()
    X = np.arange(10).reshape(-1, 1).astype(float)
    frame = pd.DataFrame({"x": X[:, 0], "y": 2 * X[:, 0] + 1})
    mlflow.log_input(
        mlflow.data.from_pandas(frame, source="/data/train.csv", name="train"), context="training"
    )
    model = LinearRegression().fit(X, 2 * X[:, 0] + 1)
    info = mlflow.sklearn.log_model(model, name="model", registered_model_name="lin")
run_id = run.info.run_id
out["run_id"] = run_id
out["model_uri"] = info.model_uri
out["predictions"] = {
    uri: mlflow.pyfunc.load_model(uri).predict(X[:3]).tolist()
    for uri in (info.model_uri, f"runs:/{run_id}/model", "models:/lin/1")
}

out["again"] = mlflow.register_model(f"runs:/{run_id}/model", "lin-again").source

client = MlflowClient()
fetched = client.get_run(run_id)
out["inputs"] = [(d.dataset.name, d.dataset.digest) for d in fetched.inputs.dataset_inputs]
out["mlflow_view"] = {
    "status": fetched.info.status,
    "run_name": fetched.info.run_name,
    "params": fetched.data.params,
    "metrics": {k: (None if math.isnan(v) else v) for k, v in fetched.data.metrics.items()},
    "tags": fetched.data.tags,
    "start_time": fetched.info.start_time,
    "end_time": fetched.info.end_time,
}
out["artifacts"] = [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id)]
out["figs"] = [(f.path, f.is_dir) for f in client.list_artifacts(run_id, "figs/plots")]
got = pathlib.Path(client.download_artifacts(run_id, "figs", str(src / "dl")))
out["downloaded"] = {
    str(p.relative_to(got)): sha(p) for p in sorted(got.rglob("*")) if p.is_file()
}
out["source_sha"] = {
    "plots/a.bin": sha(plots / "a.bin"),
    "plots/sub/b.txt": sha(plots / "sub" / "b.txt"),
    "hello.txt": sha(src / "hello.txt"),
}
found = client.search_runs(
    [experiment.experiment_id],
    filter_string="metrics.fold_auc > 0.65",
    order_by=["metrics.fold_auc DESC"],
    max_results=10,
)
out["searched"] = [r.info.run_id for r in found]
page = client.search_runs([experiment.experiment_id], max_results=2)
out["paged"] = [len(page), bool(page.token)]
out["page2"] = len(client.search_runs([experiment.experiment_id], max_results=2,
                                      page_token=page.token))
out["history"] = [
    (m.step, m.value, m.timestamp) for m in client.get_metric_history(run_id, "loss")
]

client.create_registered_model("churn", tags={"k": "v"}, description="first model")
mv = client.create_model_version("churn", f"runs:/{run_id}/figs", run_id=run_id)
client.set_registered_model_alias("churn", "champion", mv.version)
client.transition_model_version_stage("churn", mv.version, "Production")
client.set_model_version_tag("churn", mv.version, "validated", "yes")
out["mv"] = mv.version
out["by_alias"] = client.get_model_version_by_alias("churn", "champion").version
out["latest"] = [v.version for v in client.get_latest_versions("churn", stages=["Production"])]
out["download_uri"] = client.get_model_version_download_uri("churn", mv.version)
out["registered"] = [m.name for m in client.search_registered_models("name LIKE 'ch%'")]
out["versions"] = [v.version for v in client.search_model_versions("name = 'churn'")]

# MLflow lets a client log to a finished run; flowtrack keeps that behaviour for it.
client.log_metric(run_id, "late", 1.5)
client.set_tag(run_id, "reviewed", "yes")
out["late_status"] = client.get_run(run_id).info.status

out["errors"] = {
    "missing_run": error_of(lambda: client.get_run("0" * 32)),
    "missing_experiment": error_of(lambda: client.get_experiment("987654")),
    "bad_key": error_of(lambda: client.log_param(run_id, "bad key!", 1)),
    "param_change": error_of(lambda: client.log_param(run_id, "alpha", 0.7)),
    "model_taken": error_of(lambda: client.create_registered_model("churn")),
    "missing_model": error_of(lambda: client.get_registered_model("nope")),
    "bad_alias_version": error_of(
        lambda: client.set_registered_model_alias("churn", "x", "99")),
}
out["by_name_missing"] = client.get_experiment_by_name("no-such-experiment") is None
client.delete_run(out["child_id"])
out["deleted_log"] = error_of(lambda: client.log_metric(out["child_id"], "x", 1.0))
client.restore_run(out["child_id"])
print("RESULT:" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def logged(server: Server) -> dict[str, Any]:
    return server.run_mlflow(SCRIPT)


def test_runs_params_metrics_tags_match(server: Server, logged: dict[str, Any]) -> None:
    client = server.client()
    run = client.get_run(logged["run_id"])
    mlflow_view = logged["mlflow_view"]
    assert run.info.run_name == mlflow_view["run_name"] == "parent"
    assert run.info.status == "FINISHED" == mlflow_view["status"] == logged["late_status"]
    assert run.info.start_time == mlflow_view["start_time"]
    assert run.info.end_time == mlflow_view["end_time"]
    assert run.info.experiment_id == logged["experiment_id"]
    assert client.get_experiment(run.info.experiment_id).name == "compat"
    assert (
        run.data.params == mlflow_view["params"] == {"alpha": "0.5", "l1": "0.1", "model": "enet"}
    )
    assert run.data.metrics["loss"] == mlflow_view["metrics"]["loss"] == 0.2
    assert run.data.metrics["acc"] == 0.9 and run.data.metrics["auc"] == 0.8
    assert run.data.metrics["late"] == 1.5  # logged after the run had ended
    nan = run.data.metrics["odd"]
    assert nan != nan and mlflow_view["metrics"]["odd"] is None  # NaN both ways
    for key, value in {"team": "risk", "stage": "dev", "a": "1", "reviewed": "yes"}.items():
        assert run.data.tags[key] == value
    assert "b" not in run.data.tags  # deleted through MLflow
    assert {k: v for k, v in mlflow_view["tags"].items() if k != "reviewed"} == {
        k: v for k, v in run.data.tags.items() if k != "reviewed"
    }
    history = client.get_metric_history(logged["run_id"], "loss")
    assert [(m.step, m.value, m.timestamp) for m in history] == [
        tuple(p) for p in logged["history"]
    ]
    assert [m.step for m in history] == [0, 1, 2, 3, 4]


def test_nested_runs_and_search(server: Server, logged: dict[str, Any]) -> None:
    client = server.client()
    children = client.get_children(logged["run_id"])
    assert [c.info.run_name for c in children] == ["fold-0", "fold-1"]
    assert all(c.info.parent_run_id == logged["run_id"] for c in children)
    assert all(c.info.status == "FINISHED" for c in children)
    # The same filter and order through flowtrack: the grammar is MLflow's.
    ours = client.search_runs(
        "compat", filter="metrics.fold_auc > 0.65", order_by=["metrics.fold_auc DESC"]
    )
    assert [r.info.run_id for r in ours.items] == logged["searched"]
    assert logged["searched"][0] == logged["child_id"]
    assert logged["paged"] == [2, True] and logged["page2"] == 1  # 3 runs, pages of 2


def test_artifacts_are_the_same_files(server: Server, logged: dict[str, Any]) -> None:
    client = server.client()
    run = client.get_run(logged["run_id"])
    expected_uri = f"mlflow-artifacts:/{logged['experiment_id']}/{logged['run_id']}/artifacts"
    assert logged["artifact_uri"] == expected_uri
    assert logged["experiment_artifact_location"] == f"mlflow-artifacts:/{logged['experiment_id']}"
    assert Path(run.info.artifact_uri) == (
        server.artifacts / logged["experiment_id"] / logged["run_id"] / "artifacts"
    )
    ours = {f.path: f for f in client.list_artifacts(logged["run_id"])}
    theirs = {path: (is_dir, size) for path, is_dir, size in logged["artifacts"]}
    assert set(ours) == set(theirs) == {"config", "figs", "hello.txt", "model", "notes.txt"}
    assert all(ours[p].is_dir == theirs[p][0] for p in ours)
    assert ours["hello.txt"].file_size == theirs["hello.txt"][1] == 12
    assert logged["figs"] == [["figs/plots/a.bin", False], ["figs/plots/sub", True]]
    # Downloaded by MLflow through the proxy, then by flowtrack from the store: same bytes.
    assert logged["downloaded"] == {
        k: v for k, v in logged["source_sha"].items() if k.startswith("plots/")
    }
    local = Path(client.download_artifacts(logged["run_id"], "", server.workdir / "ft-dl"))
    for relative, digest in logged["source_sha"].items():
        path = local / ("figs/" + relative if relative.startswith("plots/") else relative)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert json.loads((local / "config" / "params.json").read_text()) == {"x": 1}
    assert (local / "notes.txt").read_text() == "notes"


def test_registry_matches(server: Server, logged: dict[str, Any]) -> None:
    client = server.client()
    model = client.get_registered_model("churn")
    assert model.description == "first model" and model.tags == {"k": "v"}
    assert model.aliases == {"champion": 1}
    version = client.get_model_version("churn", 1)
    assert logged["mv"] == "1" == str(version.version)
    assert version.current_stage == "Production"
    assert version.run_id == logged["run_id"]
    assert version.source == f"runs:/{logged['run_id']}/figs"
    assert version.tags == {"validated": "yes"}
    assert version.aliases == ["champion"]
    assert logged["by_alias"] == "1" and logged["latest"] == ["1"]
    assert logged["download_uri"] == f"{logged['artifact_uri']}/figs"
    assert logged["registered"] == ["churn"] and logged["versions"] == ["1"]
    actions = [e.action for e in client.get_registry_history("churn")]
    assert actions[:2] == ["create_model", "create_version"]
    assert {"set_alias", "transition_stage", "set_tag"} <= set(actions)


def test_log_model_registers_a_loadable_version(server: Server, logged: dict[str, Any]) -> None:
    # MLflow 3 logs a LoggedModel; flowtrack keeps its files in the run's artifacts.
    assert len(logged["predictions"]) == 3
    for predicted in logged["predictions"].values():
        assert predicted == pytest.approx([1.0, 3.0, 5.0])
    client = server.client()
    files = {f.path for f in client.list_artifacts(logged["run_id"], "model")}
    assert {"model/MLmodel", "model/requirements.txt"} <= files
    version = client.get_model_version("lin", 1)
    assert version.run_id == logged["run_id"]
    assert version.source == f"runs:/{logged['run_id']}/model"
    # register_model("runs:/<run>/model") sends the model's mlflow-artifacts URI; it is kept
    # as the runs:/ URI it names, in both views.
    again = client.get_model_version("lin-again", 1)
    assert again.source == version.source and again.storage_location == version.storage_location
    assert logged["again"] == version.source


def test_dataset_inputs_are_lineage(server: Server, logged: dict[str, Any]) -> None:
    ours = server.client().get_run_inputs(logged["run_id"])
    assert [(v.name, v.uri) for v in ours] == [("train", "/data/train.csv")]
    assert logged["inputs"] == [["train", ours[0].digest]]


def test_errors_are_mlflow_errors(logged: dict[str, Any]) -> None:
    assert logged["errors"] == {
        "missing_run": "RESOURCE_DOES_NOT_EXIST",
        "missing_experiment": "RESOURCE_DOES_NOT_EXIST",
        "bad_key": "INVALID_PARAMETER_VALUE",
        "param_change": "INVALID_PARAMETER_VALUE",
        "model_taken": "RESOURCE_ALREADY_EXISTS",
        "missing_model": "RESOURCE_DOES_NOT_EXIST",
        "bad_alias_version": "RESOURCE_DOES_NOT_EXIST",
    }
    assert logged["by_name_missing"] is True
    assert logged["deleted_log"] == "INVALID_PARAMETER_VALUE"


def test_flowtrack_runs_are_read_by_mlflow(server: Server) -> None:
    client = server.client()
    experiment_id = client.create_experiment("from-flowtrack")
    run = client.create_run(experiment_id, run_name="ft-run", tags={"origin": "flowtrack"})
    run_id = run.info.run_id
    client.log_param(run_id, "depth", 3)
    for step in range(3):
        client.log_metric(run_id, "rmse", 1.0 / (step + 1), timestamp=1000 + step, step=step)
    source = server.workdir / "report.txt"
    source.write_text("made by flowtrack\n")
    client.log_artifact(run_id, source, "reports")
    client.set_terminated(run_id, "FAILED")
    got = server.run_mlflow(
        f"""
        import json, pathlib
        from mlflow import MlflowClient
        c = MlflowClient()
        r = c.get_run("{run_id}")
        path = c.download_artifacts("{run_id}", "reports/report.txt", "dl")
        print("RESULT:" + json.dumps({{
            "name": r.info.run_name, "status": r.info.status,
            "params": r.data.params, "metrics": r.data.metrics, "tags": r.data.tags,
            "history": [(m.step, m.value, m.timestamp)
                        for m in c.get_metric_history("{run_id}", "rmse")],
            "report": pathlib.Path(path).read_text(),
            "found": [x.info.run_id for x in c.search_runs(
                ["{experiment_id}"], "params.depth = '3'")],
        }}))
        """
    )
    assert got["name"] == "ft-run" and got["status"] == "FAILED"
    assert got["params"] == {"depth": "3"}
    assert got["metrics"] == {"rmse": pytest.approx(1 / 3)}
    assert got["tags"]["origin"] == "flowtrack" and got["tags"]["mlflow.runName"] == "ft-run"
    assert got["history"] == [[0, 1.0, 1000], [1, 0.5, 1001], [2, pytest.approx(1 / 3), 1002]]
    assert got["report"] == "made by flowtrack\n"
    assert got["found"] == [run_id]


# PostgreSQL + S3 -----------------------------------------------------------------------------
S3_SECRET = "testing"
BUCKET = "flowtrack-mlflow-compat"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    import boto3

    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_SECRET,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    ).create_bucket(Bucket=BUCKET)
    yield endpoint
    moto.stop()


@pytest.mark.postgres
def test_postgresql_and_s3(
    pg_database: str,
    s3_endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3_env = {
        "AWS_ACCESS_KEY_ID": S3_SECRET,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "FSSPEC_S3_ENDPOINT_URL": s3_endpoint,
    }
    artifacts = f"s3://{BUCKET}/mlflow"
    experiment = f"pg-s3-{uuid.uuid4().hex[:8]}"
    model_name = f"pg-s3-{uuid.uuid4().hex[:8]}"
    with running_server(tmp_path, backend=pg_database, artifacts=artifacts, env=s3_env) as ft:
        server = Server(ft.url, pg_database, tmp_path / "unused", tmp_path)
        got = server.run_mlflow(
            f"""
            import hashlib, json, os, pathlib
            import mlflow, numpy as np
            from sklearn.linear_model import LinearRegression
            big = pathlib.Path("weights.bin")
            big.write_bytes(os.urandom(6 << 20))
            mlflow.set_experiment("{experiment}")
            X = np.arange(6).reshape(-1, 1).astype(float)
            with mlflow.start_run() as run:
                mlflow.log_param("alpha", 1)
                mlflow.log_metric("loss", 0.5, step=2)
                mlflow.log_artifact(str(big), "blobs")
                info = mlflow.sklearn.log_model(
                    LinearRegression().fit(X, X[:, 0] * 3), name="model",
                    registered_model_name="{model_name}")
            back = mlflow.artifacts.download_artifacts(
                run_id=run.info.run_id, artifact_path="blobs/weights.bin", dst_path="dl")
            print("RESULT:" + json.dumps({{
                "run_id": run.info.run_id,
                "sha": hashlib.sha256(big.read_bytes()).hexdigest(),
                "back": hashlib.sha256(pathlib.Path(back).read_bytes()).hexdigest(),
                "predicted": mlflow.pyfunc.load_model("models:/{model_name}/1")
                .predict(X[:2]).tolist(),
            }}))
            """
        )
    assert got["back"] == got["sha"]
    assert got["predicted"] == pytest.approx([0.0, 3.0])
    # fsspec reads FSSPEC_* variables once, at import: give this process the endpoint directly.
    import fsspec.config

    monkeypatch.setitem(
        fsspec.config.conf,
        "s3",
        {"endpoint_url": s3_endpoint, "key": S3_SECRET, "secret": S3_SECRET},
    )
    client = Client(pg_database)
    run = client.get_run(got["run_id"])
    assert run.data.params == {"alpha": "1"} and run.data.metrics == {"loss": 0.5}
    assert run.info.artifact_uri.startswith(f"{artifacts}/")  # in the bucket
    down = Path(client.download_artifacts(got["run_id"], "blobs", tmp_path / "ours"))
    assert hashlib.sha256((down / "weights.bin").read_bytes()).hexdigest() == got["sha"]
    assert "model/MLmodel" in {f.path for f in client.list_artifacts(got["run_id"], "model")}
    assert client.get_model_version(model_name, 1).source == f"runs:/{got['run_id']}/model"

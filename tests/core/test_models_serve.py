"""`flowtrack models serve` as a user runs it: a real server process on a free loopback port,
a real scikit-learn model logged, registered and aliased in a real store, real HTTP requests.
Also the Docker build context of `flowtrack models dockerfile`, run in a fresh virtualenv."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flowtrack
import flowtrack.testing
import pytest

EXE = str(Path(sys.executable).parent / "flowtrack")
NAME = "iris-serve"
FAILING = "always-fails"


@dataclass
class Store:
    home: Path
    env: dict[str, str]
    X: Any  # the iris features, a DataFrame
    expected: list[int]  # the model's predictions on X, in-process
    columns: list[str]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _failing_model() -> Any:
    # Defined here, so cloudpickle stores it by value and the server process can load it.
    def predict(data: Any) -> Any:
        if (data["x"] < 0).any():
            raise ValueError("x must not be negative")
        return data["x"] * 2

    return predict


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store for the module's servers, with its own FLOWTRACK_HOME (the autouse home
    fixture is per test)."""
    import pandas as pd
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    home = tmp_path_factory.mktemp("serve") / "flowtrack-home"
    env = {"FLOWTRACK_HOME": str(home), "FLOWTRACK_TRACKING_URI": f"sqlite:///{home}/flowtrack.db"}
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("FLOWTRACK_"):
                mp.delenv(key)
        for key, value in env.items():
            mp.setenv(key, value)
        flowtrack.testing.reset()
        X, _ = load_iris(return_X_y=True, as_frame=True)
        X = X.iloc[::7].reset_index(drop=True)  # 22 rows of all three classes
        clf = LogisticRegression(max_iter=500).fit(*load_iris(return_X_y=True, as_frame=True))
        with flowtrack.start_run():
            info = flowtrack.models.log_model(clf, "model", input_example=X[:5])
            failing = flowtrack.models.log_model(
                _failing_model(), "failing", input_example=pd.DataFrame({"x": [1.0, 2.0]})
            )
        flowtrack.register_model(info.uri, NAME)
        flowtrack.register_model(failing.uri, FAILING)
        client = flowtrack.Client()
        client.set_alias(NAME, "champion", 1)
        client.transition_stage(NAME, 1, "Production")
        expected = flowtrack.models.load(info.uri).predict(X).tolist()
        flowtrack.testing.reset()
    assert sorted(set(expected)) == [0, 1, 2]
    yield Store(home, env, X, expected, list(X.columns))
    flowtrack.testing.reset()


def _env(store: Store) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTRACK_")}
    return {**env, **store.env}


def _start(store: Store, uri: str, *extra: str) -> Server:
    port = _free_port()
    process = subprocess.Popen(
        [EXE, "models", "serve", uri, "--port", str(port), *extra],
        env=_env(store),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return Server(f"http://127.0.0.1:{port}", process)


def _wait(server: Server, timeout: float = 90) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            output = server.process.stdout.read() if server.process.stdout else ""
            pytest.fail(f"the server exited with {server.process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(server.url + "/ping", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    _stop(server)
    pytest.fail(f"the server at {server.url} did not answer /ping within {timeout} s")


def _stop(server: Server) -> str:
    server.process.terminate()
    try:
        out, _ = server.process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        out, _ = server.process.communicate()
    return out or ""


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[Server]:
    started = _wait(_start(store, f"models:/{NAME}@champion"))
    yield started
    _stop(started)


def request(
    url: str, body: bytes | None = None, content_type: str = "application/json"
) -> tuple[int, bytes, str]:
    headers = {"Content-Type": content_type} if body is not None else {}
    req = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("content-type", "")


def invoke(server: Server, body: Any, content_type: str = "application/json") -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, data, _ = request(server.url + "/invocations", raw, content_type)
    return status, json.loads(data)


# -- predictions -----------------------------------------------------------------------------


def test_every_format_gives_the_models_predictions(server: Server, store: Store) -> None:
    X, columns = store.X, store.columns
    rows = X.to_numpy().tolist()
    records = X.to_dict(orient="records")
    bodies = {
        "dataframe_split": {"dataframe_split": {"columns": columns, "data": rows}},
        "dataframe_split, index and columns reordered": {
            "dataframe_split": {
                "columns": columns[::-1],
                "data": [r[::-1] for r in rows],
                "index": list(range(100, 100 + len(rows))),
            }
        },
        "dataframe_records": {"dataframe_records": records},
        "instances as rows": {"instances": records},
        "instances as lists": {"instances": rows},
        "inputs as columns": {"inputs": X.to_dict(orient="list")},
        "inputs as lists": {"inputs": rows},
        "with params": {"inputs": rows, "params": {"threshold": 0.5}},
    }
    for label, body in bodies.items():
        status, answer = invoke(server, body)
        assert status == 200, (label, answer)
        assert answer == {"predictions": store.expected}, label
    status, answer = invoke(server, X.to_csv(index=False).encode(), "text/csv")
    assert (status, answer) == (200, {"predictions": store.expected})
    status, answer = invoke(server, X.to_csv(index=False).encode(), "text/csv; charset=utf-8")
    assert (status, answer) == (200, {"predictions": store.expected})
    # Over 64 KiB: predicted on a worker thread instead of the event loop, same answer.
    big = {"dataframe_split": {"columns": columns, "data": rows * 200}}
    assert len(json.dumps(big)) > 64 * 1024
    status, answer = invoke(server, big)
    assert (status, answer) == (200, {"predictions": store.expected * 200})
    # One row given as an object of values.
    status, answer = invoke(server, {"inputs": records[0]})
    assert (status, answer) == (200, {"predictions": store.expected[:1]})


def test_signature_mismatch_is_a_400_naming_the_column(server: Server, store: Store) -> None:
    missing = store.X.drop(columns=["petal width (cm)"])
    status, answer = invoke(server, {"dataframe_records": missing.to_dict(orient="records")})
    assert status == 400
    assert answer["error_code"] == "BAD_REQUEST"
    assert answer["field"] == "petal width (cm)"
    assert "'petal width (cm)' is missing" in answer["message"]

    bad = store.X.head(2).astype(object)
    bad.loc[1, "sepal width (cm)"] = "wide"
    status, answer = invoke(server, {"dataframe_split": bad.to_dict(orient="split", index=False)})
    assert status == 400
    assert answer["field"] == "sepal width (cm)"
    assert "'wide'" in answer["message"] and "float64" in answer["message"]

    status, answer = invoke(server, {"inputs": [[1.0, 2.0, 3.0]]})
    assert status == 400 and "4" in answer["message"], answer


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b'{"inputs": [[1, 2', "application/json", 400, "not valid JSON"),
        (b"[[1, 2, 3, 4]]", "application/json", 400, "the body is a JSON list"),
        (b'{"rows": [[1, 2, 3, 4]]}', "application/json", 400, "the keys ['rows']"),
        (b'{"inputs": [], "instances": []}', "application/json", 400, "exactly one of"),
        (b'{"dataframe_split": [[1]]}', "application/json", 400, '"dataframe_split" is a'),
        (
            b'{"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}',
            "application/json",
            400,
            "one value per column",
        ),
        (b'{"dataframe_records": {"a": 1}}', "application/json", 400, "list of rows"),
        (b'{"inputs": [1], "params": [1]}', "application/json", 400, '"params" is a JSON list'),
        (b"", "text/csv", 400, "CSV body is empty"),
        (b'a,b\n1,2,3,4\n"x', "text/csv", 400, "not valid CSV"),
        (b"\xff\xfe,\n", "text/csv", 400, "not valid CSV"),
        (b"a,b\n1,2\n", "text/plain", 415, "text/csv"),
        (b"a,b\n1,2\n", "application/json; charset=latin-1", 415, "UTF-8"),
    ],
)
def test_malformed_bodies_are_a_400_saying_what_is_expected(
    server: Server, body: bytes, content_type: str, status: int, says: str
) -> None:
    got, answer = invoke(server, body, content_type)
    assert got == status, answer
    assert answer["error_code"] == "BAD_REQUEST"
    assert says in answer["message"], answer["message"]
    assert "Traceback" not in answer["message"]


def test_ping_health_version_metadata(server: Server, store: Store) -> None:
    for path in ("/ping", "/health"):
        status, _, _ = request(server.url + path)
        assert status == 200, path
    status, body, content_type = request(server.url + "/version")
    assert (status, body.decode(), content_type.split(";")[0]) == (
        200,
        flowtrack.__version__,
        "text/plain",
    )
    status, body, _ = request(server.url + "/metadata")
    meta = json.loads(body)
    assert status == 200
    assert meta["model_uri"] == f"models:/{NAME}@champion"
    assert meta["registered_model"]["name"] == NAME
    assert meta["registered_model"]["version"] == 1
    assert meta["registered_model"]["aliases"] == ["champion"]
    assert meta["registered_model"]["stage"] == "Production"
    assert meta["model"]["flavor"] == "sklearn"
    assert any(r.startswith("scikit-learn==") for r in meta["model"]["requirements"])
    assert [c["name"] for c in meta["signature"]["inputs"]["columns"]] == store.columns
    status, body, _ = request(server.url + "/openapi.json")
    paths = json.loads(body)["paths"]
    assert {"/invocations", "/ping", "/health", "/version", "/metadata"} <= set(paths)
    assert set(paths["/invocations"]["post"]["requestBody"]["content"]) == {
        "application/json",
        "text/csv",
    }
    status, _, _ = request(server.url + "/nope")
    assert status == 404
    status, _, _ = request(server.url + "/invocations")  # GET
    assert status == 405


def test_version_number_and_stage_uris_serve_also_with_two_workers(store: Store) -> None:
    servers = [
        _start(store, f"models:/{NAME}/1"),
        _start(store, f"models:/{NAME}/production", "--workers", "2"),
    ]
    try:
        for started in servers:
            _wait(started)
            status, answer = invoke(started, {"inputs": store.X.to_numpy().tolist()})
            assert (status, answer) == (200, {"predictions": store.expected})
            meta = json.loads(request(started.url + "/metadata")[1])
            assert meta["registered_model"]["version"] == 1
    finally:
        outputs = [_stop(s) for s in servers]
    assert "Traceback" not in "".join(outputs)


def test_a_failing_model_is_a_500_with_its_message_and_no_trace(store: Store) -> None:
    started = _wait(_start(store, f"models:/{FAILING}/1"))
    try:
        status, answer = invoke(started, {"dataframe_records": [{"x": 1.5}, {"x": 3.0}]})
        assert (status, answer) == (200, {"predictions": [3.0, 6.0]})
        status, answer = invoke(started, {"dataframe_records": [{"x": -1.0}]})
        assert status == 500
        assert answer == {
            "error_code": "INTERNAL_ERROR",
            "message": "the model failed to predict: ValueError: x must not be negative",
        }
        status, answer = invoke(started, {"dataframe_records": [{"y": 1.0}]})
        assert status == 400 and answer["field"] == "x"
    finally:
        log = _stop(started)
    assert "x must not be negative" in log  # the trace goes to the server's log


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("models:/no-such-model@champion", "'no-such-model' does not exist"),
        (f"models:/{NAME}@no-such-alias", "no-such-alias"),
        (f"models:/{NAME}/7", "7"),
        ("runs:/0123456789abcdef0123456789abcdef/model", "does not exist"),
    ],
)
def test_an_unknown_model_fails_at_once_with_a_clear_message(
    store: Store, uri: str, says: str
) -> None:
    done = subprocess.run(
        [EXE, "models", "serve", uri, "--port", str(_free_port())],
        env=_env(store),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_taken_port_fails_at_once(store: Store, server: Server) -> None:
    port = server.url.rsplit(":", 1)[1]
    done = subprocess.run(
        [EXE, "models", "serve", f"models:/{NAME}/1", "--port", port],
        env=_env(store),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use; pick another with --port" in done.stderr


# -- the Docker build context ----------------------------------------------------------------


@pytest.mark.slow
def test_dockerfile_context_serves_in_a_fresh_virtualenv(store: Store, tmp_path: Path) -> None:
    """No Docker engine here: install the context's wheel and requirements into a new
    virtualenv, run the Dockerfile's ENTRYPOINT there (model path mapped to the context's
    model folder) and ask it for predictions."""
    context = tmp_path / "build"
    done = subprocess.run(
        [EXE, "models", "dockerfile", f"models:/{NAME}@champion", "-o", str(context)],
        env=_env(store),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    dockerfile = (context / "Dockerfile").read_text()
    lines = dockerfile.splitlines()
    assert f"FROM python:{sys.version_info.major}.{sys.version_info.minor}-slim" in lines
    assert "USER flowtrack" in lines and "EXPOSE 8080" in lines
    assert any(line.startswith("HEALTHCHECK") for line in lines) and "/ping" in dockerfile
    wheels = sorted((context / "wheels").glob("flowtrack-*.whl"))
    assert len(wheels) == 1
    assert (
        f"RUN pip install --no-cache-dir /opt/wheels/{wheels[0].name} -r /opt/requirements.txt"
        in lines
    )
    requirements = (context / "requirements.txt").read_text().splitlines()
    names = {r.split("==")[0] for r in requirements}
    assert {"scikit-learn", "fastapi", "uvicorn"} <= names and "flowtrack" not in names
    assert (context / "model" / "flowtrack-model.yaml").is_file()

    entry = next(line for line in lines if line.startswith("ENTRYPOINT "))
    command = json.loads(entry.removeprefix("ENTRYPOINT "))
    assert command == [
        "flowtrack",
        "models",
        "serve",
        "/opt/model",
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
    ]
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip = subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(wheels[0]),
            "-r",
            str(context / "requirements.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]

    port = _free_port()
    mapped = {"/opt/model": str(context / "model"), "0.0.0.0": "127.0.0.1", "8080": str(port)}
    argv = [str(env_dir / "bin" / command[0]), *[mapped.get(a, a) for a in command[1:]]]
    # Nothing of this test's store: the container has only the model folder.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWTRACK_", "VIRTUAL_ENV"))}
    clean["FLOWTRACK_HOME"] = str(tmp_path / "container-home")
    process = subprocess.Popen(
        argv, env=clean, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    started = _wait(Server(f"http://127.0.0.1:{port}", process))
    try:
        body = store.X.to_csv(index=False).encode()
        status, answer = invoke(started, body, "text/csv")
        assert (status, answer) == (200, {"predictions": store.expected})
        meta = json.loads(request(started.url + "/metadata")[1])
        assert meta["model_uri"] == str(context / "model")
    finally:
        _stop(started)
    shutil.rmtree(env_dir, ignore_errors=True)

"""The MLflow-compatible API over raw HTTP (what the MLflow client could send, and what it should
not): MLflow's error format for bad input, nothing written by a refused request, traversal
refused by the artifact proxy, paging, MLflow's rules kept where flowtrack's differ, and
permissions with --auth (raw HTTP, then the real MLflow client with credentials)."""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Iterable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from fastapi.routing import APIRoute
from flowtrack.server.auth import credentials
from flowtrack.server.auth.deps import unchecked_routes

from tests.core.authapp import Client as RawClient
from tests.core.test_mlflow_compat import Server, serve

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


class Api:
    def __init__(self, server: Server, user: tuple[str, str] | None = None) -> None:
        self.server = server
        self.session = requests.Session()
        if user is not None:
            self.session.auth = user

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = self.server.url + (path if path.startswith("/api/") else API + path)
        return self.session.request(method, url, timeout=30, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        reply = self.call(method, path, **kwargs)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    def error(self, status: int, code: str, method: str, path: str, **kwargs: Any) -> str:
        reply = self.call(method, path, **kwargs)
        assert reply.status_code == status, reply.text
        body = reply.json()
        assert body["error_code"] == code, body
        message: str = body["message"]
        return message

    def new_run(self, experiment: str = "raw") -> str:
        found = self.call("GET", "/experiments/get-by-name", params={"experiment_name": experiment})
        if found.status_code == 200:
            experiment_id = found.json()["experiment"]["experiment_id"]
        else:
            experiment_id = self.ok("POST", "/experiments/create", json={"name": experiment})[
                "experiment_id"
            ]
        run = self.ok("POST", "/runs/create", json={"experiment_id": experiment_id})
        run_id: str = run["run"]["info"]["run_id"]
        return run_id


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("mlflow-api")) as running:
        yield running


@pytest.fixture
def api(server: Server) -> Api:
    return Api(server)


def test_bad_input_is_refused_in_mlflow_format_and_writes_nothing(api: Api) -> None:
    run_id = api.new_run()
    message = api.error(
        400,
        "INVALID_PARAMETER_VALUE",
        "POST",
        "/runs/log-metric",
        json={"run_id": run_id, "key": "loss", "value": "abc", "timestamp": 1, "step": 0},
    )
    assert "abc" in message and "loss" in message
    api.error(400, "INVALID_PARAMETER_VALUE", "POST", "/runs/log-metric", json={"key": "m"})
    api.error(400, "INVALID_PARAMETER_VALUE", "POST", "/runs/log-metric", data="{not json")
    api.error(400, "INVALID_PARAMETER_VALUE", "POST", "/runs/log-metric", json=[1, 2])
    api.error(
        400,
        "INVALID_PARAMETER_VALUE",
        "POST",
        "/runs/log-metric",
        json={"run_id": run_id, "key": "../up", "value": 1},
    )
    # A batch with one bad param writes none of its metrics, tags or params.
    api.ok("POST", "/runs/log-parameter", json={"run_id": run_id, "key": "p", "value": "1"})
    message = api.error(
        400,
        "INVALID_PARAMETER_VALUE",
        "POST",
        "/runs/log-batch",
        json={
            "run_id": run_id,
            "metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}],
            "params": [{"key": "q", "value": "x"}, {"key": "p", "value": "2"}],
            "tags": [{"key": "t", "value": "v"}],
        },
    )
    assert "Changing param values is not allowed" in message
    too_many = [{"key": f"m{i}", "value": 1.0, "timestamp": 1, "step": 0} for i in range(1001)]
    api.error(
        400,
        "INVALID_PARAMETER_VALUE",
        "POST",
        "/runs/log-batch",
        json={"run_id": run_id, "metrics": too_many},
    )
    run = api.server.client().get_run(run_id)
    assert run.data.params == {"p": "1"} and run.data.metrics == {}
    assert "t" not in run.data.tags


def test_unknown_objects_are_resource_does_not_exist(api: Api) -> None:
    ghost = uuid.uuid4().hex
    for method, path, payload in [
        ("GET", "/runs/get", {"params": {"run_id": ghost}}),
        ("POST", "/runs/log-metric", {"json": {"run_id": ghost, "key": "m", "value": 1}}),
        ("POST", "/runs/log-batch", {"json": {"run_id": ghost}}),
        ("POST", "/runs/delete", {"json": {"run_id": ghost}}),
        ("GET", "/metrics/get-history", {"params": {"run_id": ghost, "metric_key": "m"}}),
        ("GET", "/experiments/get", {"params": {"experiment_id": "424242"}}),
        ("GET", "/registered-models/get", {"params": {"name": "ghost"}}),
        ("GET", "/model-versions/get", {"params": {"name": "ghost", "version": "1"}}),
        ("GET", f"{ARTIFACTS}/1/{ghost}/artifacts/x.txt", {}),
    ]:
        api.error(404, "RESOURCE_DOES_NOT_EXIST", method, path, **payload)
    message = api.error(404, "ENDPOINT_NOT_FOUND", "POST", "/api/3.0/mlflow/traces", json={})
    assert "docs/mlflow-compat.md" in message
    message = api.error(
        404,
        "ENDPOINT_NOT_FOUND",
        "POST",
        "/experiments/delete-experiment-tag",
        json={"experiment_id": "0", "key": "k"},
    )
    assert "set it to a new value" in message


def test_default_experiment_and_mlflow_rules_for_ended_runs(api: Api) -> None:
    # MLflow's client logs to experiment "0" when none is set.
    run = api.ok("POST", "/runs/create", json={"experiment_id": "0", "run_name": "default"})
    run_id = run["run"]["info"]["run_id"]
    assert (
        api.ok("GET", "/experiments/get", params={"experiment_id": "0"})["experiment"]["name"]
        == "Default"
    )
    done = api.ok(
        "POST", "/runs/update", json={"run_id": run_id, "status": "FINISHED", "end_time": 5000}
    )
    assert done["run_info"]["status"] == "FINISHED" and done["run_info"]["end_time"] == 5000
    # Logging to and renaming an ended run is allowed (MLflow's rule); it stays ended.
    api.ok("POST", "/runs/log-metric", json={"run_id": run_id, "key": "late", "value": 2})
    api.ok("POST", "/runs/update", json={"run_id": run_id, "run_name": "renamed"})
    info = api.server.client().get_run(run_id)
    assert info.info.status == "FINISHED" and info.info.end_time == 5000
    assert info.info.run_name == "renamed" and info.data.metrics == {"late": 2.0}
    assert info.data.tags["mlflow.runName"] == "renamed"
    # A deleted run refuses writes until restored.
    api.ok("POST", "/runs/delete", json={"run_id": run_id})
    api.error(
        400,
        "INVALID_PARAMETER_VALUE",
        "POST",
        "/runs/set-tag",
        json={"run_id": run_id, "key": "k", "value": "v"},
    )
    api.ok("POST", "/runs/restore", json={"run_id": run_id})
    api.ok("POST", "/runs/set-tag", json={"run_id": run_id, "key": "k", "value": "v"})


def test_experiment_artifact_location_stays_in_the_store(api: Api) -> None:
    for location in ["/etc", "file:///tmp/x", "s3://elsewhere/x", "mlflow-artifacts:/../x"]:
        api.error(
            400,
            "INVALID_PARAMETER_VALUE",
            "POST",
            "/experiments/create",
            json={"name": f"loc-{uuid.uuid4().hex[:6]}", "artifact_location": location},
        )
    name = f"loc-{uuid.uuid4().hex[:6]}"
    experiment_id = api.ok(
        "POST",
        "/experiments/create",
        json={"name": name, "artifact_location": f"mlflow-artifacts:/custom/{name}"},
    )["experiment_id"]
    run = api.ok("POST", "/runs/create", json={"experiment_id": experiment_id})["run"]
    run_id = run["info"]["run_id"]
    assert run["info"]["artifact_uri"] == f"mlflow-artifacts:/custom/{name}/{run_id}/artifacts"
    stored = api.server.client().get_run(run_id).info.artifact_uri
    assert stored == str(api.server.artifacts / "custom" / name / run_id / "artifacts")


def test_metric_values_and_history_pages(api: Api) -> None:
    run_id = api.new_run()
    metrics = [
        {"key": "m", "value": v, "timestamp": 10 + i, "step": i}
        for i, v in enumerate([1.5, "NaN", "Infinity", "-Infinity", 7])
    ]
    api.ok("POST", "/runs/log-batch", json={"run_id": run_id, "metrics": metrics})
    seen: list[Any] = []
    token = None
    while True:
        params = {"run_id": run_id, "metric_key": "m", "max_results": 2}
        if token:
            params["page_token"] = token
        page = api.ok("GET", "/metrics/get-history", params=params)
        seen.extend((m["step"], m["value"]) for m in page["metrics"])
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == [(0, 1.5), (1, "NaN"), (2, "Infinity"), (3, "-Infinity"), (4, 7)]
    history = api.server.client().get_metric_history(run_id, "m")
    assert math.isnan(history[1].value) and history[2].value == math.inf


def test_search_experiments_and_runs(api: Api) -> None:
    prefix = f"search-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}-{i}" for i in range(3)]
    ids = [
        api.ok(
            "POST",
            "/experiments/create",
            json={"name": n, "tags": [{"key": "group", "value": "g" if i else "h"}]},
        )["experiment_id"]
        for i, n in enumerate(names)
    ]
    found = api.ok(
        "POST",
        "/experiments/search",
        json={
            "filter": f"tags.group = 'g' AND name LIKE '{prefix}%'",
            "order_by": ["name DESC"],
            "max_results": 1,
        },
    )
    assert [e["name"] for e in found["experiments"]] == [names[2]]
    rest = api.ok(
        "POST",
        "/experiments/search",
        json={
            "filter": f"tags.group = 'g' AND name LIKE '{prefix}%'",
            "order_by": ["name DESC"],
            "page_token": found["next_page_token"],
        },
    )
    assert [e["name"] for e in rest["experiments"]] == [names[1]]
    assert "next_page_token" not in rest
    api.error(
        400, "INVALID_PARAMETER_VALUE", "POST", "/experiments/search", json={"filter": "name >"}
    )
    for i in range(3):
        run = api.ok("POST", "/runs/create", json={"experiment_id": ids[1]})["run"]["info"]
        api.ok("POST", "/runs/log-metric", json={"run_id": run["run_id"], "key": "m", "value": i})
    runs = api.ok(
        "POST",
        "/runs/search",
        json={"experiment_ids": [ids[1]], "filter": "metrics.m >= 1", "order_by": ["metrics.m"]},
    )["runs"]
    assert [r["data"]["metrics"][0]["value"] for r in runs] == [1, 2]
    api.error(
        400,
        "INVALID_PARAMETER_VALUE",
        "POST",
        "/runs/search",
        json={"experiment_ids": [ids[1]], "filter": "metrics.m >>> 1"},
    )


def test_dataset_inputs_become_flowtrack_lineage(api: Api) -> None:
    run_id = api.new_run()
    dataset = {
        "name": "train",
        "digest": "8f2c1a9e",
        "source_type": "local",
        "source": '{"uri": "/data/train.csv"}',
    }
    api.ok(
        "POST",
        "/runs/log-inputs",
        json={"run_id": run_id, "datasets": [{"dataset": dataset, "tags": []}]},
    )
    inputs = api.server.client().get_run_inputs(run_id)
    assert [(v.name, v.uri, v.digest) for v in inputs] == [("train", "/data/train.csv", "8f2c1a9e")]
    got = api.ok("GET", "/runs/get", params={"run_id": run_id})["run"]["inputs"]
    assert got["dataset_inputs"][0]["dataset"]["name"] == "train"


@pytest.mark.parametrize(
    "path",
    [
        "../outside.txt",
        "1/../../outside.txt",
        "%2e%2e/outside.txt",
        "%252e%252e/outside.txt",
        "1/..%2f..%2foutside.txt",
        "1/x%5c..%5c..%5coutside.txt",
        "1/x;/../../outside.txt",
        ".flowtrack-mlflow/logged-models/m-0.json",
    ],
)
def test_artifact_proxy_stays_inside_the_destination(api: Api, path: str) -> None:
    outside = api.server.artifacts.parent / "outside.txt"
    outside.write_text("secret")
    # http.client sends the path as written: no client-side normalization of '..'.
    raw = RawClient(int(api.server.url.rsplit(":", 1)[1]))
    for method in ("GET", "PUT", "DELETE"):
        reply = raw.request(method, f"{ARTIFACTS}/{path}", body=b"evil")
        assert 400 <= reply.status < 500, (method, path, reply.status)
        assert b"secret" not in reply.body
    listed = raw.request("GET", f"{ARTIFACTS}?path={path}")
    assert 400 <= listed.status < 500, listed.body
    assert outside.read_text() == "secret"
    assert not (api.server.artifacts / "outside.txt").exists()


def test_artifact_proxy_round_trip(api: Api) -> None:
    run_id = api.new_run()
    base = api.ok("GET", "/runs/get", params={"run_id": run_id})["run"]["info"]["artifact_uri"]
    assert base.startswith("mlflow-artifacts:/")
    relative = base.removeprefix("mlflow-artifacts:/")
    payload = bytes(range(256)) * 1000
    api.ok("PUT", f"{ARTIFACTS}/{relative}/dir/data.bin", data=payload)
    api.ok("PUT", f"{ARTIFACTS}/{relative}/page.html", data=b"<script>alert(1)</script>")
    got = api.call("GET", f"{ARTIFACTS}/{relative}/dir/data.bin")
    assert got.content == payload
    page = api.call("GET", f"{ARTIFACTS}/{relative}/page.html")
    assert page.headers["content-type"].startswith("text/plain")  # never rendered as HTML
    listed = api.ok("GET", ARTIFACTS, params={"path": relative})["files"]
    assert listed == [
        {"path": "dir", "is_dir": True},
        {"path": "page.html", "is_dir": False, "file_size": 25},
    ]
    # Listing a file gives nothing: MLflow's client tells files from folders that way.
    assert api.ok("GET", ARTIFACTS, params={"path": f"{relative}/page.html"}) == {}
    files = api.server.client().list_artifacts(run_id, "dir")
    assert [(f.path, f.file_size) for f in files] == [("dir/data.bin", len(payload))]
    api.ok("DELETE", f"{ARTIFACTS}/{relative}/dir")
    assert api.server.client().list_artifacts(run_id, "dir") == []
    info = api.ok("GET", "/api/3.0/mlflow/server-info")
    assert info["artifact_serving_enabled"] is True
    assert info["multipart_uploads_enabled"] is False


# --auth -------------------------------------------------------------------------------------
ADMIN = ("root", "root password 1")
AUTH_ENV = {"FLOWTRACK_ADMIN_USERNAME": ADMIN[0], "FLOWTRACK_ADMIN_PASSWORD": ADMIN[1]}
PASSWORD = "user password 1"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(credentials, "SCRYPT_COST", (2**10, 8, 1))  # fast hashes for tests
        with serve(tmp_path_factory.mktemp("mlflow-auth"), auth_environ=AUTH_ENV) as running:
            yield running


def _user(server: Server, name: str) -> tuple[str, str]:
    Api(server, ADMIN).call(
        "POST", "/api/v1/auth/users", json={"name": name, "password": PASSWORD}
    ).raise_for_status()
    return name, PASSWORD


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """The API routes under ``routes``: FastAPI up to 0.13x copies included routers' routes,
    later versions keep each included router as one node (``original_router``)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes)


def test_every_mlflow_route_checks_permissions() -> None:
    from flowtrack.server import mlflow

    routes = list(api_routes(mlflow.router.routes))
    assert len(routes) > 50
    assert unchecked_routes(SimpleNamespace(routes=routes)) == []


def test_auth_on_mlflow_paths(auth_server: Server) -> None:
    anonymous = Api(auth_server)
    refused = anonymous.call("GET", "/experiments/get", params={"experiment_id": "0"})
    assert refused.status_code == 401 and refused.json()["error_code"] == "UNAUTHENTICATED"
    assert refused.headers["www-authenticate"].startswith("Basic")
    owner = Api(auth_server, _user(auth_server, f"ann-{uuid.uuid4().hex[:6]}"))
    other = Api(auth_server, _user(auth_server, f"bob-{uuid.uuid4().hex[:6]}"))
    run_id = owner.new_run(f"ann-{uuid.uuid4().hex[:6]}")  # the creator manages it
    owner.ok("POST", "/runs/log-metric", json={"run_id": run_id, "key": "m", "value": 1})
    assert (
        owner.ok("GET", "/runs/get", params={"run_id": run_id})["run"]["info"]["user_id"]
        == (
            owner.session.auth[0]  # type: ignore[index]
        )
    )
    # Default permission READ: the other user reads but may not write or delete.
    other.ok("GET", "/runs/get", params={"run_id": run_id})
    for method, path, payload in [
        ("POST", "/runs/log-metric", {"run_id": run_id, "key": "m", "value": 2}),
        ("POST", "/runs/set-tag", {"run_id": run_id, "key": "k", "value": "v"}),
        ("POST", "/runs/delete", {"run_id": run_id}),
    ]:
        other.error(403, "PERMISSION_DENIED", method, path, json=payload)
    experiment_id = auth_server.client().get_run(run_id).info.experiment_id
    upload = f"{ARTIFACTS}/{experiment_id}/{run_id}/artifacts/x.txt"
    other.error(403, "PERMISSION_DENIED", "PUT", upload, data=b"x")
    owner.ok("PUT", upload, data=b"x")
    assert other.call("GET", upload).content == b"x"


def test_mlflow_client_with_credentials(auth_server: Server) -> None:
    name, password = _user(auth_server, f"cat-{uuid.uuid4().hex[:6]}")
    foreign = Api(auth_server, ADMIN).new_run(f"admin-{uuid.uuid4().hex[:6]}")
    got = auth_server.run_mlflow(
        f"""
        import json
        import mlflow
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
        mlflow.set_experiment("cat-experiment")
        with mlflow.start_run() as run:
            mlflow.log_metric("m", 1.0)
        try:
            MlflowClient().log_metric("{foreign}", "m", 1.0)
            denied = None
        except MlflowException as exc:
            denied = exc.error_code
        print("RESULT:" + json.dumps({{"run_id": run.info.run_id, "denied": denied}}))
        """,
        env={"MLFLOW_TRACKING_USERNAME": name, "MLFLOW_TRACKING_PASSWORD": password},
    )
    assert got["denied"] == "PERMISSION_DENIED"
    run = auth_server.client().get_run(got["run_id"])
    assert run.data.metrics == {"m": 1.0} and run.info.user_id == name
    token = base64.b64encode(f"{name}:wrong".encode()).decode()
    reply = requests.get(
        auth_server.url + API + "/runs/get",
        params={"run_id": got["run_id"]},
        headers={"Authorization": f"Basic {token}"},
        timeout=30,
    )
    assert reply.status_code == 401


GARBAGE: list[Any] = [
    None,
    {},
    {"run_id": 1, "experiment_id": {}, "name": [], "version": "x", "key": None, "value": {}},
    {"run_id": "0" * 32, "experiment_id": "-1", "name": "n" * 300, "version": "0", "key": "k"},
    {"experiment_ids": "notalist", "max_results": -5, "page_token": "%%%", "filter": "(("},
    {"metrics": [1], "params": "x", "tags": [{"value": 1}], "datasets": [{}], "order_by": 3},
    {"stage": "Limbo", "alias": "v1", "status": "DONE", "view_type": "SOME", "source": "../x"},
]


def test_no_input_makes_a_server_error(api: Api) -> None:
    """What a fuzzer would send to every MLflow route: a 4xx in MLflow's format, never a 5xx."""
    from flowtrack.server import mlflow

    for route in api_routes(mlflow.router.routes):
        path = route.path.replace("{model_id}", "m-" + "0" * 32).replace("{tag_key}", "k")
        path = path.replace("{path:path}", "1/x").replace(
            "{version}/mlflow/{rest:path}", "9/mlflow/x"
        )
        for method in sorted(route.methods or ()):
            for body in GARBAGE:
                if method == "GET":
                    flat = {k: str(v) for k, v in (body or {}).items()}
                    reply = api.call(method, path, params=flat)
                else:
                    reply = api.call(method, path, json=body)
                assert reply.status_code < 500, (method, path, body, reply.text)
                if reply.status_code >= 400:
                    assert "error_code" in reply.json(), (method, path, reply.text)

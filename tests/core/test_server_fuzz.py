"""Fuzz the real server from its own OpenAPI document with schemathesis: no request may get a 5xx.

The app is the real one (``create_app``) on an SQLite store with a local artifact folder, called
in-process through schemathesis's ASGI transport (no port, no thread of our own). Every
operation of flowtrack's API (``/api/v1``), the MLflow-compatible API (``/api/2.0/mlflow``) and
the artifact proxy is fuzzed with auth off; a smaller run repeats it with ``--auth`` as a
non-admin user, so the permission checks see the same junk. Bounded for CI: a fixed number of
examples per operation, derandomized (the same requests on every run).

The MLflow routes read their fields by hand (server/mlflow/request.py), so their OpenAPI
entries describe no fields; `_with_mlflow_fields` adds the field names MLflow's protocol uses,
each of any JSON type, so that the fuzzer sends them (as the query string of a GET, a JSON body
otherwise).
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import flowtrack
import pytest
import schemathesis
from flowtrack.server.app import create_app, open_store
from flowtrack.server.auth import accounts, credentials
from flowtrack.server.state import ServerState
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

# Requests per operation (valid, invalid), for ~130 operations. Invalid ones cost more to make
# (hypothesis filters for values the schema refuses), so there are fewer of them.
EXAMPLES, AUTH_EXAMPLES = (6, 3), (2, 1)
USER = ("fuzzer", "fuzzer password 1")
ADMIN = ("root", "root password 1")
# The schemathesis ASGI client's Host header; the server's allow-list must let it in.
TEST_HOST = "testserver"
# Fields of MLflow's REST protocol that the MLflow routes read.
MLFLOW_FIELDS = (
    "experiment_id",
    "experiment_ids",
    "experiment_name",
    "name",
    "new_name",
    "artifact_location",
    "run_id",
    "run_uuid",
    "run_name",
    "user_id",
    "start_time",
    "end_time",
    "status",
    "key",
    "value",
    "timestamp",
    "step",
    "metrics",
    "params",
    "tags",
    "metric_key",
    "filter",
    "filter_string",
    "max_results",
    "page_token",
    "order_by",
    "view_type",
    "run_view_type",
    "version",
    "source",
    "description",
    "stage",
    "archive_existing_versions",
    "alias",
    "datasets",
    "inputs",
    "outputs",
    "model_id",
    "path",
)
_SCALAR = {"type": ["string", "integer", "number", "boolean", "null"]}
# Lists of records (metrics, params, tags, dataset inputs): objects of scalars, or junk.
_LISTS = (
    "metrics",
    "params",
    "tags",
    "datasets",
    "inputs",
    "outputs",
    "experiment_ids",
    "order_by",
)
_RECORDS = {
    "anyOf": [
        _SCALAR,
        {
            "type": "array",
            "maxItems": 3,
            "items": {
                "anyOf": [
                    _SCALAR,
                    {
                        "type": "object",
                        "properties": {
                            k: _SCALAR for k in ("key", "value", "timestamp", "step", "name")
                        },
                    },
                ]
            },
        },
    ]
}


def _with_mlflow_fields(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/2.0/mlflow/"):
            continue
        for method, operation in operations.items():
            if method == "get":
                operation["parameters"] = [
                    {"name": f, "in": "query", "required": False, "schema": {"type": "string"}}
                    for f in MLFLOW_FIELDS
                ]
            else:
                properties = {f: _RECORDS if f in _LISTS else _SCALAR for f in MLFLOW_FIELDS}
                operation["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"type": "object", "properties": properties}}
                    },
                }
    return spec


def _seed(store: Any) -> None:
    """Something for the fuzzed ids to find: experiments 0 and 1, a run with data and an
    artifact, a registered model with a version and an alias."""
    flowtrack.set_tracking_uri(store.uri)
    store.get_or_create_experiment("Default")
    flowtrack.set_experiment("fuzz")
    with flowtrack.start_run() as run:
        flowtrack.log_param("p", "1")
        flowtrack.log_metric("m", 1.0, step=0)
        flowtrack.set_tag("t", "v")
        flowtrack.log_text("x", "model/w.txt")
    assert flowtrack.flush()
    store.create_registered_model("fuzz-model")
    store.create_model_version("fuzz-model", f"runs:/{run.info.run_id}/model")
    store.set_registered_model_alias("fuzz-model", "champion", 1)


def _schema(tmp: Path, *, with_auth: bool) -> Any:
    root = tmp / "artifacts"
    store = open_store(f"sqlite:///{tmp / 'server.db'}", str(root))
    _seed(store)
    state = ServerState(
        store=store,
        artifacts_destination=str(root),
        settings={"auth": with_auth, "allowed_hosts": [TEST_HOST]},
    )
    app = create_app(state)
    if with_auth:
        accounts.create_user(state.auth.repo, *USER)  # type: ignore[union-attr]
    spec = _with_mlflow_fields(app.openapi())
    schema = schemathesis.openapi.from_dict(spec)
    schema.app = app
    schema.location = "/openapi.json"
    schema.negatable = {  # type: ignore[attr-defined]
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if _negatable(operation)
    }
    return schema


def _negatable(operation: dict[str, Any]) -> bool:
    """Whether an invalid request can be made for an operation: one with a body or a parameter
    that is more than any string. (For the others hypothesis would search in vain for long.)"""
    if "requestBody" in operation:
        return True
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if set(schema) - {"type", "title", "description", "default"} or schema.get(
            "type", "string"
        ) not in ("string",):
            return True
    return False


_SETTINGS = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "phases": [Phase.explicit, Phase.generate],
    "suppress_health_check": list(HealthCheck),
}


def _fuzz(
    schema: Any, examples: tuple[int, int], headers: dict[str, str] | None = None
) -> list[str]:
    """Run every operation of ``schema`` with ``examples`` (valid, invalid) requests; the
    failures, one each (operation, what failed and the request as a curl command)."""
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) > 100  # every route of both APIs is in the document
    for operation in operations:
        for mode, count in zip(
            (GenerationMode.POSITIVE, GenerationMode.NEGATIVE), examples, strict=True
        ):
            if mode is GenerationMode.NEGATIVE and operation.label not in schema.negatable:
                continue
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception as exc:  # an operation no request of this mode can be made for
                if mode is GenerationMode.POSITIVE:
                    failures.append(f"{operation.label}: cannot generate requests: {exc}")
                continue

            @settings(max_examples=count, **_SETTINGS)
            @given(case=strategy)
            def run(case: Any) -> None:
                case.call_and_validate(checks=[not_a_server_error], headers=headers)

            try:
                run()
            except Unsatisfiable:
                continue
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
    return failures


def test_no_server_error_without_auth(tmp_path: Path) -> None:
    failures = _fuzz(_schema(tmp_path, with_auth=False), EXAMPLES)
    assert not failures, "\n\n".join(failures)


def test_no_server_error_with_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_COST", (2**10, 8, 1))
    monkeypatch.setenv("FLOWTRACK_ADMIN_USERNAME", ADMIN[0])
    monkeypatch.setenv("FLOWTRACK_ADMIN_PASSWORD", ADMIN[1])
    token = base64.b64encode(f"{USER[0]}:{USER[1]}".encode()).decode()
    schema = _schema(tmp_path, with_auth=True)
    failures = _fuzz(schema, AUTH_EXAMPLES, {"Authorization": f"Basic {token}"})
    assert not failures, "\n\n".join(failures)


# -- what the fuzzer (and probing around it) found: each a 500 before its fix -------------------


def test_regressions_found_by_fuzzing(tmp_path: Path) -> None:
    from urllib.parse import quote

    from tests.core.authapp import serve

    root = tmp_path / "artifacts"
    store = open_store(f"sqlite:///{tmp_path / 'server.db'}", str(root))
    experiment = store.create_experiment("regressions")
    app = create_app(ServerState(store=store, artifacts_destination=str(root)))
    mlflow_art = "/api/2.0/mlflow-artifacts/artifacts"
    own_art = f"/api/v1/experiments/{experiment}/artifacts"
    try:
        with serve(app) as client:
            made = client.request("POST", "/api/v1/runs", body={"experiment_id": experiment})
            assert made.status == 200, made.body
            run_id = made.json()["info"]["run_id"]
            # An integer beyond 64 bits in a refused body: the error body could not be written.
            for path, body in (
                (f"/api/v1/runs/{run_id}/log-metric", {"key": "m", "value": 1, "step": -(10**20)}),
                ("/api/v1/runs", {"experiment_id": experiment, "start_time": 10**24}),
            ):
                reply = client.request("POST", path, body=body)
                assert reply.status == 400, (path, reply.status, reply.body)
                assert reply.json()["value"] in (str(-(10**20)), str(10**24))
            # A path segment longer than a file name may be: refused before the filesystem.
            long_name = quote("é" * 200)  # 400 bytes in UTF-8
            for url in (f"{mlflow_art}/{experiment}/{long_name}", f"{own_art}/{long_name}"):
                reply = client.request("PUT", url, body=b"x")
                assert reply.status == 400 and b"255 bytes" in reply.body, (url, reply.body)
            # A file where a folder is needed, or a folder where a file is: a conflict.
            assert client.request("PUT", f"{mlflow_art}/{experiment}/a", body=b"x").status == 200
            for url in (f"{mlflow_art}/{experiment}/a/b", f"{mlflow_art}/{experiment}"):
                reply = client.request("PUT", url, body=b"y")
                assert reply.status == 400, (url, reply.status, reply.body)
                assert reply.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
            assert client.request("PUT", f"{own_art}/q", body=b"x").status == 200
            reply = client.request("PUT", f"{own_art}/q/r", body=b"y")
            assert reply.status == 409 and "a file and a folder" in reply.json()["message"]
    finally:
        store.close()
    assert (root / experiment / "a").read_bytes() == b"x"

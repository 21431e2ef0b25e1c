"""flowtrack's REST API spoken directly (requests and raw sockets) to a real server: metadata
endpoints, the error format and status codes, the event batch endpoint (exactly once, per-event
refusals), convenience writes, history paging and downsampling, the artifact proxy."""

from __future__ import annotations

import http.client
import math
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from flowtrack.entities import Metric
from flowtrack.server.downsample import downsample
from sqlalchemy import create_engine, text

from tests.conftest import PG_ADMIN_URI
from tests.core.serverfixtures import Server, flowtrack_server, running_server  # noqa: F401

V1 = "/api/v1"


class Api:
    def __init__(self, server: Server) -> None:
        self.base = server.url
        self.session = requests.Session()

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=60, **kwargs)


@pytest.fixture
def api(flowtrack_server: Server) -> Api:  # noqa: F811
    return Api(flowtrack_server)


def _name(prefix: str = "api") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _run(api: Api, **body: Any) -> dict[str, Any]:
    experiment = api("POST", f"{V1}/experiments", json={"name": _name()}).json()
    answer = api("POST", f"{V1}/runs", json={"experiment_id": experiment["experiment_id"], **body})
    assert answer.status_code == 200, answer.text
    run: dict[str, Any] = answer.json()
    return run


def _event(run_id: str, seq: int, step: int, value: Any = 1.0) -> dict[str, Any]:
    return {
        "op": "metric",
        "run_id": run_id,
        "key": "m",
        "value": value,
        "timestamp": 1_000 + step,
        "step": step,
        "seq": seq,
    }


# -- the server itself ---------------------------------------------------------------------------


def test_health_version_docs_and_openapi(api: Api) -> None:
    assert api("GET", "/health").json() == {"status": "ok"}
    assert api("GET", "/version").json()["api"] == "v1"
    assert api("GET", "/docs").status_code == 200
    root = api("GET", "/", allow_redirects=False)  # the web UI (docs/ui.md)
    assert root.status_code == 200 and root.headers["content-type"].startswith("text/html")
    spec = api("GET", "/openapi.json").json()
    paths = set(spec["paths"])
    for path in (
        "/api/v1/events",
        "/api/v1/runs/search",
        "/api/v1/runs/{run_id}/metrics/history",
        "/api/v1/runs/{run_id}/log-batch",
        "/api/v1/experiments/{experiment_id}/artifacts/{path}",
        "/api/v1/registered-models/{name}/versions",
        "/api/v1/dataset-versions/search",
    ):
        assert path in paths, path
    assert "requestBody" in spec["paths"]["/api/v1/events"]["post"]


# -- errors --------------------------------------------------------------------------------------


def test_bad_input_is_a_400_naming_the_field_and_the_value(api: Api) -> None:
    answer = api("POST", f"{V1}/experiments", json={"name": "  "})
    assert answer.status_code == 400
    assert answer.json() == {
        "error_code": "INVALID_INPUT",
        "message": "invalid experiment name '  ': must not be empty",
        "field": "experiment name",
        "value": "  ",
        "reason": "must not be empty",
    }
    typed = api("POST", f"{V1}/experiments", json={"name": 7})
    assert typed.status_code == 400
    assert (typed.json()["field"], typed.json()["value"]) == ("body.name", 7)
    assert api("POST", f"{V1}/experiments", data=b"{not json").status_code == 400
    for path in (f"{V1}/experiments/99999999999999", f"{V1}/experiments/abc"):
        assert api("GET", path).json()["field"] == "experiment_id"
    token = api("GET", f"{V1}/experiments", params={"page_token": "bad"})
    assert (token.status_code, token.json()["field"]) == (400, "page_token")
    assert api("GET", f"{V1}/experiments/by-name", params={"name": "a\x00b"}).status_code == 400
    nul = api("POST", f"{V1}/experiments", json={"name": "a\x00b"})
    assert nul.status_code == 400 and "NUL" in nul.json()["message"]


def test_missing_is_404_and_a_conflict_409(api: Api) -> None:
    missing = api("GET", f"{V1}/runs/{'0' * 32}")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "NOT_FOUND"
    assert (missing.json()["kind"], missing.json()["id"]) == ("run", "0" * 32)
    assert api("GET", f"{V1}/no/such/endpoint").status_code == 404
    name = _name()
    assert api("POST", f"{V1}/experiments", json={"name": name}).status_code == 200
    again = api("POST", f"{V1}/experiments", json={"name": name})
    assert again.status_code == 409 and "already exists" in again.json()["message"]
    run = _run(api)
    run_id = run["info"]["run_id"]
    assert (
        api(
            "POST", f"{V1}/runs/{run_id}/log-batch", json={"params": [{"key": "p", "value": "1"}]}
        ).status_code
        == 200
    )
    changed = api(
        "POST", f"{V1}/runs/{run_id}/log-batch", json={"params": [{"key": "p", "value": "2"}]}
    )
    assert changed.status_code == 409 and "immutable" in changed.json()["message"]
    unknown = api("POST", f"{V1}/runs/{'1' * 32}/log-metric", json={"key": "m", "value": 1})
    assert unknown.status_code == 404


@pytest.mark.postgres
@pytest.mark.slow
def test_a_store_that_went_away_is_a_503_without_details(tmp_path: Path) -> None:
    name = f"flowtrack_gone_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        backend = PG_ADMIN_URI.rsplit("/", 1)[0] + f"/{name}"
        with running_server(tmp_path, backend=backend) as server:
            api = Api(server)
            assert api("GET", f"{V1}/experiments").status_code == 200
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            down = api("GET", f"{V1}/experiments")
            assert down.status_code == 503
            assert down.json()["error_code"] == "STORE_UNAVAILABLE"
            assert name not in down.text and "Traceback" not in down.text
            assert api("GET", "/health").status_code == 503
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- the event batch endpoint ---------------------------------------------------------------------


def test_event_batches_apply_once_per_journal(api: Api) -> None:
    run_id = _run(api)["info"]["run_id"]
    journal = f"test-{uuid.uuid4().hex}"
    batch = {"journal_id": journal, "events": [_event(run_id, s + 1, s) for s in range(100)]}
    for _ in range(3):  # a retry, and a replay after a crash
        answer = api("POST", f"{V1}/events", json=batch)
        assert answer.json() == {"rejections": [], "new_versions": []}
    later = {"journal_id": journal, "events": [_event(run_id, s + 1, s) for s in range(90, 120)]}
    api("POST", f"{V1}/events", json=later)
    history = api("GET", f"{V1}/runs/{run_id}/metrics/history", params={"key": "m"}).json()
    assert history["steps"] == list(range(120))


def test_a_batch_with_bad_events_writes_the_good_ones(api: Api) -> None:
    run_id = _run(api)["info"]["run_id"]
    events = [
        _event(run_id, 1, 0),
        {
            "op": "metric",
            "run_id": run_id,
            "key": "bad key!",
            "value": 1,
            "timestamp": 1,
            "step": 0,
        },
        {"op": "explode", "run_id": run_id},
        _event("e" * 32, 4, 0),  # a run that does not exist
        {"op": "param", "run_id": run_id, "key": "p", "value": 5},  # not a string
        {"op": "tag", "run_id": run_id, "key": "t", "value": "x" * 9000},
        {"op": "metric", "run_id": run_id, "key": "m", "value": 1.0, "timestamp": 2**70, "step": 0},
        "not an object",
        _event(run_id, 9, 1, "NaN"),
        _event(run_id, 10, 2, "-Infinity"),
    ]
    answer = api("POST", f"{V1}/events", json={"events": events})
    assert answer.status_code == 200, answer.text
    refused = {r["index"]: r["reason"] for r in answer.json()["rejections"]}
    assert sorted(refused) == [1, 2, 3, 4, 5, 6, 7]
    assert "invalid metric key 'bad key!'" in refused[1]
    assert "the run does not exist" in refused[3]
    history = api("GET", f"{V1}/runs/{run_id}/metrics/history", params={"key": "m"}).json()
    assert history["values"] == [1.0, "NaN", "-Infinity"]


def test_python_json_with_bare_nan_is_taken(api: Api) -> None:
    import json

    run_id = _run(api)["info"]["run_id"]
    body = json.dumps({"events": [_event(run_id, 1, 0, math.nan)]})
    assert "NaN" in body
    answer = api("POST", f"{V1}/events", data=body, headers={"Content-Type": "application/json"})
    assert answer.json()["rejections"] == []


def test_journal_batches_need_increasing_seq(api: Api) -> None:
    run_id = _run(api)["info"]["run_id"]
    events = [_event(run_id, 2, 0), _event(run_id, 1, 1)]
    answer = api("POST", f"{V1}/events", json={"journal_id": "j", "events": events})
    assert answer.status_code == 400 and answer.json()["field"] == "seq"


# -- convenience writes, history ----------------------------------------------------------------


def test_log_batch_log_metric_and_runs(api: Api) -> None:
    run = _run(api, run_name="conv", tags={"team": "x"})
    run_id = run["info"]["run_id"]
    assert run["info"]["artifact_proxy"].endswith(f"/{run_id}/artifacts")
    body = {
        "metrics": [
            {"key": "loss", "value": 0.5, "step": 1},
            {"key": "loss", "value": "Infinity", "step": 2},
        ],
        "params": [{"key": "alpha", "value": "0.1"}],
        "tags": [{"key": "stage", "value": "dev"}],
    }
    assert api("POST", f"{V1}/runs/{run_id}/log-batch", json=body).status_code == 200
    assert (
        api("POST", f"{V1}/runs/{run_id}/log-metric", json={"key": "acc", "value": 0.9}).status_code
        == 200
    )
    bad = api("POST", f"{V1}/runs/{run_id}/log-metric", json={"key": "a b!", "value": 1})
    assert (bad.status_code, bad.json()["field"]) == (400, "metric key")
    assert api("DELETE", f"{V1}/runs/{run_id}/tags", params={"key": "stage"}).status_code == 200
    ended = api("PATCH", f"{V1}/runs/{run_id}", json={"status": "FINISHED"}).json()
    assert ended["info"]["status"] == "FINISHED" and ended["info"]["end_time"]
    got = api("GET", f"{V1}/runs/{run_id}").json()
    assert got["data"]["metrics"] == {"loss": "Infinity", "acc": 0.9}
    assert got["data"]["params"] == {"alpha": "0.1"}
    assert got["data"]["tags"] == {"team": "x"}
    many = api("POST", f"{V1}/runs/get", json={"run_ids": [run_id, "9" * 32]}).json()
    assert [r["info"]["run_id"] for r in many["runs"]] == [run_id]
    found = api(
        "POST",
        f"{V1}/runs/search",
        json={"experiment_ids": [got["info"]["experiment_id"]], "filter": "metrics.acc > 0.5"},
    ).json()
    assert [r["info"]["run_id"] for r in found["runs"]] == [run_id]


def test_history_pages_and_downsampling(api: Api) -> None:
    run_id = _run(api)["info"]["run_id"]
    events = [_event(run_id, s + 1, s, float(s % 17)) for s in range(1_000)]
    api("POST", f"{V1}/events", json={"journal_id": uuid.uuid4().hex, "events": events})
    path = f"{V1}/runs/{run_id}/metrics/history"
    steps: list[int] = []
    token = None
    while True:
        params: dict[str, Any] = {"key": "m", "max_results": 300}
        if token:
            params["page_token"] = token
        page = api("GET", path, params=params).json()
        steps += page["steps"]
        token = page["next_page_token"]
        if not token:
            break
    assert steps == list(range(1_000))
    few = api("GET", path, params={"key": "m", "max_points": 50}).json()
    assert len(few["steps"]) <= 50 and few["steps"][0] == 0 and few["steps"][-1] == 999
    assert max(few["values"]) == 16.0 and min(few["values"]) == 0.0
    assert api("GET", path, params={"key": "m", "max_points": 2}).status_code == 400
    assert few["points"] == 1_000
    # A zoomed chart asks for a window: every point of it when it fits in max_points.
    window = {"key": "m", "max_points": 500, "min_step": 100, "max_step": 199}
    zoomed = api("GET", path, params=window).json()
    assert zoomed["steps"] == list(range(100, 200)) and zoomed["points"] == 100
    assert zoomed["values"] == [float(s % 17) for s in range(100, 200)]
    wide = api("GET", path, params={**window, "max_step": 899, "max_points": 20}).json()
    assert (wide["points"], wide["steps"][0], wide["steps"][-1]) == (800, 100, 899)
    assert len(wide["steps"]) <= 20
    tail = api("GET", path, params={"key": "m", "max_points": 10, "min_step": 995}).json()
    assert tail["steps"] == [995, 996, 997, 998, 999]
    inverted = api("GET", path, params={**window, "min_step": 300})
    assert inverted.status_code == 400 and "min_step" in inverted.text
    unpaged = api("GET", path, params={"key": "m", "min_step": 3})
    assert unpaged.status_code == 400 and "max_points" in unpaged.text
    assert api("GET", path, params={"key": "nothing"}).json()["steps"] == []
    assert (
        api("GET", f"{V1}/runs/{'2' * 32}/metrics/history", params={"key": "m"}).status_code == 404
    )


def test_downsample_keeps_first_last_and_extremes() -> None:
    points = [Metric("m", math.sin(i / 10), i, i) for i in range(5_000)]
    points[1234] = Metric("m", 50.0, 1234, 1234)
    points[3210] = Metric("m", -50.0, 3210, 3210)
    points[77] = Metric("m", math.nan, 77, 77)
    few = downsample(list(reversed(points)), 100)
    assert len(few) <= 100
    assert [m.step for m in few] == sorted(m.step for m in few)
    assert (few[0].step, few[-1].step) == (0, 4_999)
    assert {1234, 3210} <= {m.step for m in few}
    assert downsample(points[:10], 100) == points[:10]
    only_nan = [Metric("m", math.nan, i, i) for i in range(100)]
    assert len(downsample(only_nan, 10)) <= 10


# -- artifacts -------------------------------------------------------------------------------------


def test_artifact_upload_download_list(api: Api, flowtrack_server: Server) -> None:  # noqa: F811
    run = _run(api)
    run_id, experiment_id = run["info"]["run_id"], run["info"]["experiment_id"]
    by_run = f"{V1}/runs/{run_id}/artifacts"
    put = api("PUT", f"{by_run}/dir/a.txt", data=b"hello")
    assert put.json() == {"path": "dir/a.txt", "size": 5}
    api("PUT", f"{by_run}/page.html", data=b"<script>alert(1)</script>")
    # The same file through the experiment's path.
    by_experiment = f"{V1}/experiments/{experiment_id}/artifacts/{run_id}/artifacts/dir/a.txt"
    got = api("GET", by_experiment)
    assert (got.content, got.headers["content-length"]) == (b"hello", "5")
    assert api("HEAD", by_experiment).headers["content-length"] == "5"
    html = api("GET", f"{by_run}/page.html")
    assert html.headers["content-type"] == "application/octet-stream"
    assert html.headers["x-content-type-options"] == "nosniff"
    listed = api("GET", by_run).json()["files"]
    assert [(f["path"], f["is_dir"]) for f in listed] == [("dir", True), ("page.html", False)]
    deep = api("GET", by_run, params={"path": "", "recursive": "true"}).json()["files"]
    assert [f["path"] for f in deep] == ["dir/a.txt", "page.html"]
    assert api("GET", f"{by_run}/missing.txt").status_code == 404
    assert api("GET", f"{by_run}/dir").status_code == 404  # a folder is not a file


@pytest.mark.parametrize(
    "path",
    [
        "../escape.txt",
        "a/../../escape.txt",
        "%2e%2e/escape.txt",
        "%252e%252e/escape.txt",
        "..%2fescape.txt",
        "a%5c..%5cescape.txt",
        "/abs.txt",
        "x%23y",
        "x%3By",
    ],
)
def test_artifact_paths_that_climb_out_are_refused(
    api: Api,
    flowtrack_server: Server,  # noqa: F811
    path: str,
) -> None:
    run_id = _run(api)["info"]["run_id"]
    before = set(Path(flowtrack_server.artifacts).rglob("*"))
    raw = _raw(flowtrack_server, "PUT", f"{V1}/runs/{run_id}/artifacts/{path}", b"evil")
    assert 400 <= raw[0] < 500, raw
    listed = _raw(flowtrack_server, "GET", f"{V1}/runs/{run_id}/artifacts?path={path}", b"")
    assert 400 <= listed[0] < 500, listed
    assert set(Path(flowtrack_server.artifacts).rglob("*")) == before
    assert not list(Path(flowtrack_server.folder).rglob("escape.txt"))


def _raw(server: Server, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    # http.client sends the path exactly as given: no normalization of '..' or '%2e'.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_an_interrupted_or_short_upload_leaves_nothing(
    api: Api,
    flowtrack_server: Server,  # noqa: F811
) -> None:
    run_id = _run(api)["info"]["run_id"]
    path = f"{V1}/runs/{run_id}/artifacts/cut.bin"
    conn = http.client.HTTPConnection("127.0.0.1", flowtrack_server.port, timeout=30)
    conn.putrequest("PUT", path)
    conn.putheader("Content-Length", str(10 << 20))
    conn.endheaders()
    conn.send(os.urandom(6 << 20))
    conn.close()
    deadline = time.monotonic() + 15
    leftovers = [1]
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.1)
        leftovers = [p for p in Path(flowtrack_server.artifacts).rglob("*") if "cut.bin" in p.name]
    assert leftovers == []
    assert api("GET", f"{V1}/runs/{run_id}/artifacts").json()["files"] == []


def test_registry_changes_are_recorded_under_the_named_user(api: Api) -> None:
    name = _name("model")
    headers = {"Flowtrack-User": "ci%20bot"}
    assert (
        api("POST", f"{V1}/registered-models", json={"name": name}, headers=headers).status_code
        == 200
    )
    history = api("GET", f"{V1}/registered-models/{name}/history").json()["events"]
    assert [(e["action"], e["user"]) for e in history] == [("create_model", "ci bot")]
    assert (
        api("PUT", f"{V1}/registered-models/{name}/aliases/a", json={"version": 9}).status_code
        == 404
    )
    bad = api("PUT", f"{V1}/registered-models/{name}/aliases/a", json={"version": 2**40})
    assert bad.status_code == 400

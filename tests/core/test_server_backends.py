"""The server on its shared backends: PostgreSQL for metadata and S3 (moto's server on loopback,
through s3fs) for artifacts; two server processes on one PostgreSQL database serving two
clients at once."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import flowtrack
import pytest
from flowtrack.registry import register_model

from tests.conftest import need_module
from tests.core.faults import run_python
from tests.core.serverfixtures import Server, running_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SECRET = "testing"
BUCKET = "flowtrack-server-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    need_module("s3fs")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    _s3(endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _s3(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=SECRET,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )


def _s3_env(endpoint: str) -> dict[str, str]:
    # What an operator sets for a server on S3: credentials, and for a non-AWS endpoint its
    # URL (fsspec reads FSSPEC_S3_ENDPOINT_URL; botocore also reads AWS_ENDPOINT_URL_S3).
    return {
        "AWS_ACCESS_KEY_ID": SECRET,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "FSSPEC_S3_ENDPOINT_URL": endpoint,
    }


@pytest.fixture(scope="module")
def pg_s3_server(
    pg_database: str, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with running_server(
        tmp_path_factory.mktemp("pg-s3-server"),
        backend=pg_database,
        artifacts=f"s3://{BUCKET}/ft",
        env=_s3_env(s3_endpoint),
    ) as server:
        yield server


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_postgresql_and_s3_end_to_end(
    pg_s3_server: Server, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWTRACK_TRACKING_URI", pg_s3_server.url)
    big = tmp_path / "weights.bin"
    big.write_bytes(os.urandom(12 << 20))  # above s3fs's 5 MiB block: a multipart upload
    flowtrack.set_experiment(_name("s3"))
    with flowtrack.start_run() as run:
        flowtrack.log_param("alpha", 0.1)
        flowtrack.log_metric("loss", 0.5)
        flowtrack.log_text("weights", "model/model.txt")
        flowtrack.log_artifact(big, "model")
    client = flowtrack.Client()
    run_id = run.info.run_id
    got = client.get_run(run_id)
    assert got.data.params == {"alpha": "0.1"} and got.data.metrics == {"loss": 0.5}
    assert [f.path for f in client.list_artifacts(run_id, "model")] == [
        "model/model.txt",
        "model/weights.bin",
    ]
    down = Path(client.download_artifacts(run_id, "model", tmp_path / "down"))
    assert (down / "weights.bin").read_bytes() == big.read_bytes()
    # The files are in the bucket, where the server put them.
    keys = {
        o["Key"] for o in _s3(s3_endpoint).list_objects_v2(Bucket=BUCKET, Prefix="ft/")["Contents"]
    }
    prefix = f"ft/{got.info.experiment_id}/{run_id}/artifacts/model"
    assert {f"{prefix}/model.txt", f"{prefix}/weights.bin"} <= keys

    name = _name("model")
    version = register_model(f"runs:/{run_id}/model", name)
    client.set_alias(name, "champion", version.version)
    assert client.get_model_version_by_alias(name, "champion").storage_location == (
        f"{got.info.artifact_uri}/model"
    )


def test_an_interrupted_upload_to_s3_leaves_nothing(
    pg_s3_server: Server, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import http.client

    monkeypatch.setenv("FLOWTRACK_TRACKING_URI", pg_s3_server.url)
    client = flowtrack.Client()
    run = client.create_run(client.create_experiment(_name("cut")))
    path = f"/api/v1/runs/{run.info.run_id}/artifacts/big.bin"
    conn = http.client.HTTPConnection("127.0.0.1", pg_s3_server.port, timeout=30)
    conn.putrequest("PUT", path)
    conn.putheader("Content-Length", str(20 << 20))
    conn.endheaders()
    conn.send(os.urandom(8 << 20))  # past one multipart part, then the client goes away
    conn.close()
    assert client.list_artifacts(run.info.run_id) == []
    s3 = _s3(s3_endpoint)
    found = s3.list_objects_v2(Bucket=BUCKET, Prefix="ft/")
    assert not any(o["Key"].endswith("big.bin") for o in found.get("Contents", []))
    # ... and the multipart upload it had started is aborted, not left to linger (the server
    # notices the disconnect a moment later).
    deadline = time.monotonic() + 15
    while True:
        uploads = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
        if not any(u["Key"].endswith("big.bin") for u in uploads):
            break
        assert time.monotonic() < deadline, uploads
        time.sleep(0.1)
    found = s3.list_objects_v2(Bucket=BUCKET, Prefix="ft/")
    assert not any(o["Key"].endswith("big.bin") for o in found.get("Contents", []))


def test_two_servers_on_one_postgresql_serve_concurrently(pg_database: str, tmp_path: Path) -> None:
    artifacts = str(tmp_path / "shared-artifacts")
    experiment, model = _name("shared"), _name("shared-model")
    with (
        running_server(tmp_path / "a", backend=pg_database, artifacts=artifacts) as a,
        running_server(tmp_path / "b", backend=pg_database, artifacts=artifacts, workers=2) as b,
    ):
        code = f"""
            import sys
            import flowtrack
            from flowtrack.registry import register_model

            client = flowtrack.Client()
            tag = sys.argv[1] if len(sys.argv) > 1 else ""
            flowtrack.set_experiment({experiment!r})
            if not client.search_registered_models("name = '{model}'").items:
                try:
                    client.create_registered_model({model!r})
                except Exception:
                    pass  # the other client made it first
            for i in range(15):
                with flowtrack.start_run(run_name=f"{{TAG}}-{{i}}") as run:
                    flowtrack.log_params({{"i": i, "who": "{{TAG}}"}})
                    for step in range(200):
                        flowtrack.log_metric("m", float(step), step=step)
                    flowtrack.log_text("w", "model/w.txt")
                flowtrack.flush()
                client.create_model_version({model!r}, f"runs:/{{run.info.run_id}}/model")
            assert flowtrack.flush(timeout=30)
        """

        def client_of(server: Server, tag: str) -> Any:
            return run_python(
                code.replace("{TAG}", tag),
                {"FLOWTRACK_TRACKING_URI": server.url, "FLOWTRACK_HOME": str(tmp_path / tag)},
                timeout=240,
            )

        with ThreadPoolExecutor(2) as pool:
            done = list(pool.map(client_of, (a, b), ("via-a", "via-b")))
        for result in done:
            assert result.returncode == 0, result.stderr
        for server in (a, b):
            client = flowtrack.Client(server.url)
            runs = client.search_runs(experiment, max_results=100).items
            assert len(runs) == 30
            assert {r.info.status for r in runs} == {"FINISHED"}
            assert {r.data.params["who"] for r in runs} == {"via-a", "via-b"}
            for r in runs[:6]:
                assert len(client.get_metric_history(r.info.run_id, "m")) == 200
            versions = client.search_model_versions(f"name = '{model}'").items
            assert sorted(v.version for v in versions) == list(range(1, 31))

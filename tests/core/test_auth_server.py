"""The auth layer wired into the real server: ``flowtrack server --auth`` processes (the first
admin from the environment, or generated and printed once), 401/403 on both APIs and the
artifact proxy, and the MLflow client logging with MLFLOW_TRACKING_USERNAME/PASSWORD or
MLFLOW_TRACKING_TOKEN."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.core.serverfixtures import running_server, start_server

pytestmark = pytest.mark.slow

ROOT = ("root", "root password 1")
BOB = ("bob", "bob password 1")
CAROL = ("carol", "carol password 1")


def _mlflow(url: str, workdir: Path, script: str, **env: str) -> dict[str, Any]:
    path = workdir / "script.py"
    path.write_text(textwrap.dedent(script))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "FLOWTRACK_"))}
    clean.update(
        MLFLOW_TRACKING_URI=url,
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        GIT_PYTHON_REFRESH="quiet",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        **env,
    )
    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=workdir,
        env=clean,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT:")]
    assert done.returncode == 0 and lines, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT:") :])
    return result


LOG_A_RUN = """
import json, pathlib
import mlflow
from mlflow.exceptions import MlflowException

out = {}
try:
    mlflow.set_experiment("bobs-experiment")
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_metric("loss", 0.25, step=1)
        pathlib.Path("notes.txt").write_text("hello")
        mlflow.log_artifact("notes.txt")
    out["run_id"] = run.info.run_id
    out["user"] = mlflow.get_run(run.info.run_id).info.user_id
    out["artifacts"] = [f.path for f in mlflow.MlflowClient().list_artifacts(run.info.run_id)]
except MlflowException as exc:
    out["error"] = exc.error_code
    out["message"] = str(exc)
print("RESULT:" + json.dumps(out))
"""


def test_server_with_auth(tmp_path: Path) -> None:
    if importlib.util.find_spec("mlflow") is None:
        pytest.fail(
            "the mlflow client is missing: ./scripts/setup installs requirements/mlflow.txt"
        )
    env = {"FLOWTRACK_ADMIN_USERNAME": ROOT[0], "FLOWTRACK_ADMIN_PASSWORD": ROOT[1]}
    with running_server(tmp_path / "server", env=env, extra_args=("--auth",)) as server:
        url = server.url
        assert "password" not in server.log.read_text().lower()  # nothing generated, or logged
        for method, path in [
            ("GET", "/api/v1/experiments"),
            ("POST", "/api/2.0/mlflow/experiments/search"),
            ("GET", "/api/2.0/mlflow-artifacts/artifacts/0/x.txt"),
            ("PUT", "/api/v1/runs/0123456789abcdef0123456789abcdef/artifacts/x.txt"),
            ("GET", "/api/v1/auth/whoami"),
            ("GET", "/docs"),
        ]:
            refused = requests.request(method, url + path, json={}, timeout=30)
            assert refused.status_code == 401, (method, path, refused.text)
            assert refused.json()["error_code"] == "UNAUTHENTICATED"
            assert refused.headers["WWW-Authenticate"].startswith("Basic")
        assert requests.get(f"{url}/health", timeout=30).status_code == 200
        wrong = requests.get(f"{url}/api/v1/auth/whoami", auth=(ROOT[0], "nope"), timeout=30)
        assert wrong.status_code == 401
        me = requests.get(f"{url}/api/v1/auth/whoami", auth=ROOT, timeout=30).json()
        assert me["user"] == "root" and me["is_admin"] is True
        for name, password in (BOB, CAROL):
            made = requests.post(
                f"{url}/api/v1/auth/users",
                auth=ROOT,
                timeout=30,
                json={"name": name, "password": password},
            )
            assert made.status_code == 201, made.text
        token = requests.post(
            f"{url}/api/v1/auth/users/bob/tokens", auth=BOB, timeout=30, json={"name": "laptop"}
        ).json()["token"]

        # Bob logs with the MLflow client and a token: he creates the experiment, so he
        # manages it, and the run is recorded under his name.
        workdir = tmp_path / "work"
        workdir.mkdir()
        logged = _mlflow(url, workdir, LOG_A_RUN, MLFLOW_TRACKING_TOKEN=token)
        assert "error" not in logged, logged
        assert logged["user"] == "bob" and logged["artifacts"] == ["notes.txt"]
        # Carol (the default, READ) may look but not log: the MLflow client sees
        # PERMISSION_DENIED.
        refused = _mlflow(
            url,
            workdir,
            LOG_A_RUN,
            MLFLOW_TRACKING_USERNAME=CAROL[0],
            MLFLOW_TRACKING_PASSWORD=CAROL[1],
        )
        assert refused["error"] == "PERMISSION_DENIED", refused
        run_id = logged["run_id"]
        got = requests.get(
            f"{url}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, auth=CAROL, timeout=30
        )
        assert got.status_code == 200
        tagged = requests.post(
            f"{url}/api/2.0/mlflow/runs/set-tag",
            auth=CAROL,
            timeout=30,
            json={"run_id": run_id, "key": "k", "value": "v"},
        )
        assert tagged.status_code == 403 and tagged.json()["error_code"] == "PERMISSION_DENIED"
        experiment_id = got.json()["run"]["info"]["experiment_id"]
        artifact = f"{url}/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts"
        assert requests.get(f"{artifact}/notes.txt", auth=CAROL, timeout=30).content == b"hello"
        put = requests.put(f"{artifact}/evil.txt", data=b"x", auth=CAROL, timeout=30)
        assert put.status_code == 403
        # Bob grants Carol EDIT; now she may tag.
        granted = requests.put(
            f"{url}/api/v1/auth/permissions",
            auth=BOB,
            timeout=30,
            json={"user": "carol", "permission": "EDIT", "experiment": experiment_id},
        )
        assert granted.status_code == 200, granted.text
        tagged = requests.post(
            f"{url}/api/2.0/mlflow/runs/set-tag",
            auth=CAROL,
            timeout=30,
            json={"run_id": run_id, "key": "k", "value": "v"},
        )
        assert tagged.status_code == 200, tagged.text
        deleted = requests.post(
            f"{url}/api/2.0/mlflow/runs/delete", auth=CAROL, timeout=30, json={"run_id": run_id}
        )
        assert deleted.status_code == 403  # deleting needs MANAGE
        # A revoked token stops working at once.
        requests.delete(f"{url}/api/v1/auth/users/bob/tokens/laptop", auth=BOB, timeout=30)
        gone = requests.get(
            f"{url}/api/v1/auth/whoami", timeout=30, headers={"Authorization": f"Bearer {token}"}
        )
        assert gone.status_code == 401
        # Hardening is on too.
        assert (
            requests.get(f"{url}/health", headers={"Host": "evil.example"}, timeout=30).status_code
            == 400
        )


def test_generated_admin_password_is_printed_once(tmp_path: Path) -> None:
    server = start_server(tmp_path, extra_args=("--auth",), workers=2)
    try:
        log = server.log.read_text()
        assert log.count("shown only this once") == 1, log  # not once per worker
        password = log.split("with the password:")[1].split()[0]
        me = requests.get(f"{server.url}/api/v1/auth/whoami", auth=("admin", password), timeout=30)
        assert me.status_code == 200 and me.json()["is_admin"] is True
        server.stop()
        server.start()
        assert server.log.read_text().count("shown only this once") == 1  # not on a restart
        assert (
            requests.get(
                f"{server.url}/api/v1/auth/whoami", auth=("admin", password), timeout=30
            ).status_code
            == 200
        )
    finally:
        server.stop()

"""A small FastAPI app wired like the real server (auth.install, then hardening.install), served
by a real uvicorn on a free port, and a raw HTTP client that can send any Host header, path
and body (http.client: nothing is normalized on the way)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from flowtrack.errors import ConflictError, InvalidInputError, NotFoundError
from flowtrack.server import auth, hardening
from flowtrack.server.auth.deps import (
    authenticated,
    current_user,
    grant_creator,
    readable_experiment_ids,
    require,
)
from flowtrack.server.auth.permissions import Permission
from flowtrack.server.state import ServerState
from flowtrack.store.sql.store import SqlStore

READ, EDIT, MANAGE = Permission.READ, Permission.EDIT, Permission.MANAGE


def build_app(
    store: SqlStore,
    artifact_root: Path,
    *,
    with_auth: bool,
    settings: hardening.Settings | None = None,
    environ: dict[str, str] | None = None,
) -> FastAPI:
    app = FastAPI()
    state = ServerState(store=store, artifacts_destination=str(artifact_root))
    if with_auth:
        auth.enable(state, environ=environ or {}, stderr=io.StringIO())
    app.state.flowtrack = state

    # What the real app's handlers do with flowtrack's errors (its own format may differ).
    for exc_type, status in ((InvalidInputError, 400), (NotFoundError, 404), (ConflictError, 409)):

        async def handler(_r: Request, exc: Exception, status: int = status) -> Response:
            return JSONResponse({"message": str(exc)}, status)

        app.add_exception_handler(exc_type, handler)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/experiments", dependencies=[Depends(authenticated)])
    async def create_experiment(request: Request) -> dict[str, Any]:
        body = await request.json()
        experiment_id = store.create_experiment(body["name"])
        await grant_creator(request, experiment_id=experiment_id)
        return {"experiment_id": experiment_id}

    @app.get(
        "/api/v1/experiments/{experiment_id}",
        dependencies=[Depends(require(READ, experiment_id="experiment_id"))],
    )
    def get_experiment(experiment_id: str) -> dict[str, Any]:
        return {"name": store.get_experiment(experiment_id).name}

    @app.get("/api/v1/experiments", dependencies=[Depends(authenticated)])
    async def list_experiments(request: Request) -> dict[str, Any]:
        ids = [e.experiment_id for e in store.search_experiments(max_results=1000).items]
        return {"experiment_ids": await readable_experiment_ids(request, ids)}

    @app.post(
        "/api/2.0/mlflow/runs/create",
        dependencies=[Depends(require(EDIT, experiment_id="experiment_id"))],
    )
    async def create_run(request: Request) -> dict[str, Any]:
        body = await request.json()  # read again after the permission check: cached
        return {
            "experiment_id": body["experiment_id"],
            "user": current_user(request),
            # Where server/state.py and the MLflow routes look for the caller.
            "state_user": getattr(request.state, "user", None),
        }

    @app.post(
        "/api/2.0/mlflow/runs/log-batch",
        dependencies=[Depends(require(EDIT, run_id=("run_id", "run_uuid")))],
    )
    def log_batch(request: Request) -> dict[str, Any]:
        return {"user": current_user(request)}

    @app.get("/api/2.0/mlflow/runs/get", dependencies=[Depends(require(READ, run_id="run_id"))])
    def get_run(run_id: str) -> dict[str, Any]:
        return {"run_id": store.get_run(run_id).info.run_id}

    @app.post(
        "/api/2.0/mlflow/experiments/delete",
        dependencies=[Depends(require(MANAGE, experiment_id="experiment_id"))],
    )
    def delete_experiment() -> dict[str, Any]:
        return {}

    @app.get(
        "/api/2.0/mlflow/experiments/get-by-name",
        dependencies=[Depends(require(READ, experiment_name="experiment_name"))],
    )
    def get_by_name(experiment_name: str) -> dict[str, Any]:
        found = store.get_experiment_by_name(experiment_name)
        return {"experiment_id": found.experiment_id if found else None}

    @app.post("/api/2.0/mlflow/registered-models/create", dependencies=[Depends(authenticated)])
    async def create_model(request: Request) -> dict[str, Any]:
        body = await request.json()
        store.create_registered_model(body["name"], user=current_user(request) or "")
        await grant_creator(request, model_name=body["name"])
        return {}

    @app.get(
        "/api/2.0/mlflow/registered-models/get",
        dependencies=[Depends(require(READ, model_name="name"))],
    )
    def get_model(name: str) -> dict[str, Any]:
        return {"name": store.get_registered_model(name).name}

    @app.post(
        "/api/2.0/mlflow/model-versions/create",
        dependencies=[
            Depends(require(EDIT, model_name="name")),
            Depends(require(READ, run_id="run_id", optional=True)),
        ],
    )
    def create_version() -> dict[str, Any]:
        return {}

    @app.delete(
        "/api/2.0/mlflow/registered-models/delete",
        dependencies=[Depends(require(MANAGE, model_name="name"))],
    )
    def delete_model(name: str) -> dict[str, Any]:
        store.delete_registered_model(name)
        return {}

    # The artifact proxy, as both APIs would write it: check the path, then use only the
    # checked one, under the root.
    @app.put(
        "/api/2.0/mlflow-artifacts/artifacts/{path:path}",
        dependencies=[Depends(require(EDIT, artifact_path="path"))],
    )
    async def upload(path: str, request: Request) -> dict[str, Any]:
        target = hardening.contained_local_path(artifact_root, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{target.name}.part")
        try:
            with part.open("wb") as out:
                async for chunk in request.stream():
                    out.write(chunk)
            part.replace(target)  # all or nothing: a refused upload leaves no file
        finally:
            part.unlink(missing_ok=True)
        return {"written": str(target.relative_to(artifact_root.resolve()))}

    @app.get(
        "/api/2.0/mlflow-artifacts/artifacts/{path:path}",
        dependencies=[Depends(require(READ, artifact_path="path"))],
    )
    def download(path: str) -> Response:
        target = hardening.contained_local_path(artifact_root, path)
        if not target.is_file():
            raise NotFoundError("artifact", path)
        return Response(target.read_bytes(), media_type="application/octet-stream")

    @app.get("/api/2.0/mlflow/artifacts/list", dependencies=[Depends(authenticated)])
    def list_artifacts(path: str = "") -> dict[str, Any]:
        target = hardening.contained_local_path(artifact_root, path)
        return {"files": sorted(p.name for p in target.iterdir()) if target.is_dir() else []}

    auth.install(app)
    hardening.install(app, settings or hardening.Settings())
    return app


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.host = f"127.0.0.1:{port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        user: tuple[str, str] | None = None,
        token: str | None = None,
        host: str | None = None,
        chunks: list[bytes] | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            sent = {"Host": host if host is not None else self.host, **(headers or {})}
            if user is not None:
                sent["Authorization"] = (
                    "Basic " + base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
                )
            if token is not None:
                sent["Authorization"] = f"Bearer {token}"
            data = json.dumps(body).encode() if isinstance(body, dict) else body
            if isinstance(body, dict):
                sent.setdefault("Content-Type", "application/json")
            if chunks is not None:
                sent["Transfer-Encoding"] = "chunked"
            elif data is not None:
                sent.setdefault("Content-Length", str(len(data)))
            for key, value in sent.items():
                if value is not None:
                    conn.putheader(key, value)
            conn.endheaders()
            try:
                if chunks is not None:
                    for chunk in chunks:
                        conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    conn.send(b"0\r\n\r\n")
                elif data is not None:
                    conn.send(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server refused early (413) and closed: read its answer
            response = conn.getresponse()
            return Reply(
                response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
            )
        finally:
            conn.close()


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[Client]:
    import uvicorn

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
    try:
        yield Client(port)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()

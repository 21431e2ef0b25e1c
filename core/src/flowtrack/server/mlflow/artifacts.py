"""The artifact proxy ``/api/2.0/mlflow-artifacts/artifacts[/<path>]`` and ``server-info``.

The MLflow client resolves a run's ``mlflow-artifacts:/<path>`` artifact URI (convert.py) to
these endpoints: PUT uploads one file (the raw body), GET downloads one, GET with ``?path=``
lists a folder's direct children, DELETE removes a file or folder. ``<path>`` is relative to
the server's artifacts destination, the same files flowtrack's own client reads as the run's
artifacts. Paths are checked like every flowtrack artifact path (no absolute paths, ``..``,
encoded or double-encoded escapes, backslashes), and the server's own records
(``.flowtrack-mlflow/``) are out of reach.
"""

from __future__ import annotations

import mimetypes
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from flowtrack.artifacts.fsspec_store import FsspecArtifactStore
from flowtrack.server.artifacts import no_file_folder_clash
from flowtrack.server.hardening import safe_artifact_path
from flowtrack.server.mlflow import access
from flowtrack.server.mlflow.errors import MlflowRoute, invalid, not_found
from flowtrack.server.mlflow.logged_store import META_DIR
from flowtrack.server.mlflow.request import State, json_response
from flowtrack.server.state import ServerState
from flowtrack.validation import validate_artifact_path

router = APIRouter(route_class=MlflowRoute)

PREFIX = "/api/2.0/mlflow-artifacts/artifacts"
_CHUNK = 1 << 20
# Served as text/plain, as MLflow does, so an uploaded page or script never runs in a browser
# that opens the download URL.
_ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "application/xml")
_HEADERS = {"X-Content-Type-Options": "nosniff"}


def _relative(path: str | None, *, required: bool = True) -> str:
    # The server's one check for every traversal trick (hardening.py), then flowtrack's own.
    relative = validate_artifact_path(safe_artifact_path(path or "", "path"), "path")
    if not relative and required:
        raise invalid("Missing the artifact path after /mlflow-artifacts/artifacts/")
    if relative.split("/", 1)[0] == META_DIR:
        raise invalid(f"Invalid path {path!r}: {META_DIR}/ holds the server's own records")
    return relative


def _store(state: ServerState) -> FsspecArtifactStore:
    return FsspecArtifactStore(state.artifacts_destination)


def _media_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name)
    if guessed is None:
        return "application/octet-stream"
    if guessed.startswith("text/") or guessed in _ACTIVE_TYPES:
        return "text/plain"
    return guessed


def _checks(*dependencies: Callable[..., Any]) -> list[Any]:
    return [Depends(d) for d in dependencies]


@router.get(
    PREFIX,
    summary="List an artifact folder (MLflow)",
    dependencies=_checks(*access.on_artifact(access.READ)),
)
async def list_artifacts(request: Request, state: State) -> Response:
    relative = _relative(request.query_params.get("path"), required=False)
    store = _store(state)

    def entries() -> list[dict[str, Any]]:
        full = f"{store.root}/{relative}" if relative else store.root
        if not store.fs.isdir(full):
            return []  # a file or nothing: MLflow lists neither, and its client relies on it
        out = []
        for info in store.list(relative):
            entry: dict[str, Any] = {"path": info.path.rsplit("/", 1)[-1], "is_dir": info.is_dir}
            if not info.is_dir and info.file_size is not None:
                entry["file_size"] = info.file_size
            if entry["path"] != META_DIR:
                out.append(entry)
        return out

    files = await run_in_threadpool(entries)
    return json_response({"files": files} if files else {})


@router.get(
    PREFIX + "/{path:path}",
    summary="Download an artifact (MLflow)",
    dependencies=_checks(*access.on_artifact(access.READ)),
)
async def download(path: str, state: State) -> Response:
    relative = _relative(path)
    store = _store(state)
    full = f"{store.root}/{relative}"
    if not await run_in_threadpool(store.fs.isfile, full):
        raise not_found(f"No artifact file at {relative!r}; list the folder to see what exists")
    media_type = _media_type(relative)
    if store.local:
        return FileResponse(full, media_type=media_type, headers=_HEADERS)

    def chunks() -> Iterator[bytes]:
        with store.fs.open(full, "rb") as f:
            while chunk := f.read(_CHUNK):
                yield chunk

    return StreamingResponse(chunks(), media_type=media_type, headers=_HEADERS)


@router.put(
    PREFIX + "/{path:path}",
    summary="Upload an artifact (MLflow)",
    dependencies=_checks(*access.on_artifact(access.EDIT)),
)
async def upload(path: str, request: Request, state: State) -> Response:
    relative = _relative(path)
    head, _, name = relative.rpartition("/")
    store = _store(state)
    with tempfile.TemporaryDirectory(prefix="flowtrack-upload-") as tmp:
        local = Path(tmp) / name
        # Streamed to disk, never held in memory: artifacts can be large.
        with open(local, "wb") as f:
            async for chunk in request.stream():
                f.write(chunk)
        with no_file_folder_clash(relative):
            await run_in_threadpool(store.log_file, local, head)
    return json_response({})


@router.delete(
    PREFIX + "/{path:path}",
    summary="Delete an artifact file or folder (MLflow)",
    dependencies=_checks(*access.on_artifact(access.MANAGE)),
)
async def delete(path: str, state: State) -> Response:
    relative = _relative(path)
    store = _store(state)
    full = f"{store.root}/{relative}"

    def remove() -> None:
        if not store.fs.exists(full):
            raise not_found(f"No artifact at {relative!r}")
        store.fs.rm(full, recursive=True)

    await run_in_threadpool(remove)
    return json_response({})


@router.get(
    "/api/3.0/mlflow/server-info",
    summary="Capabilities, as MLflow 3 asks (MLflow)",
    dependencies=_checks(*access.LOGGED_IN),
)
async def server_info() -> Response:
    # The MLflow client asks before uploading; multipart and presigned URLs are not offered,
    # so it sends every file with one PUT to the proxy above.
    return json_response(
        {
            "store_type": "SqlStore",
            "artifact_serving_enabled": True,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
            "artifacts_presigned_only": False,
            "workspaces_enabled": False,
        }
    )

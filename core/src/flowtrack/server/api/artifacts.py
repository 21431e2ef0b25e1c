"""The artifact proxy: list, download and upload the files of an experiment or a run.

``/experiments/<id>/artifacts/<path>`` is ``<path>`` below the experiment's artifact location
(a run's files are at ``<run_id>/artifacts/...`` there); ``/runs/<run_id>/artifacts/<path>`` is
``<path>`` below the run's artifact URI. Paths are checked like every artifact path: relative,
no ``..`` (also percent-encoded, even twice), no backslash or NUL.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from flowtrack.errors import InvalidInputError
from flowtrack.server import artifacts as files
from flowtrack.server.api import guards
from flowtrack.server.api.access import EDIT, READ, needs
from flowtrack.server.api.deps import State
from flowtrack.server.proxies import location
from flowtrack.server.responses import JSON
from flowtrack.server.state import ServerState
from flowtrack.store.rest.codec import file_to_dict

router = APIRouter(tags=["artifacts"])
_EXP = {"experiment_id": "experiment_id"}
_RUN = {"run_id": "run_id"}

_HEADERS = {"X-Content-Type-Options": "nosniff"}


def _root(state: ServerState, kind: str, ident: str) -> str:
    if kind == "experiments":
        return location(state, guards.experiment_id(ident))
    return state.store.get_run(ident).info.artifact_uri


def _list(state: ServerState, kind: str, ident: str, path: str, recursive: bool) -> JSON:
    where = files.place(_root(state, kind, ident), path)
    listed = files.list_files(where, recursive)
    return JSON({"root": f"{kind}/{ident}/artifacts", "files": [file_to_dict(f) for f in listed]})


def _download(state: ServerState, kind: str, ident: str, path: str, head: bool) -> Response:
    where = files.place(_root(state, kind, ident), path)
    size, media_type = files.open_for_download(where)
    headers = dict(_HEADERS)
    if size is not None:
        headers["Content-Length"] = str(size)
    if head:
        return Response(headers=headers, media_type=media_type)
    return StreamingResponse(files.read_chunks(where), media_type=media_type, headers=headers)


async def _upload(state: ServerState, kind: str, ident: str, path: str, request: Request) -> JSON:
    root = await run_in_threadpool(_root, state, kind, ident)
    where = await run_in_threadpool(files.place, root, path)
    length = request.headers.get("content-length")
    if length is not None and not length.isdigit():
        raise InvalidInputError("Content-Length", length, "must be a number of bytes")
    size = await files.receive(where, request.stream(), int(length) if length else None)
    return JSON({"path": where.relative, "size": size})


_LIST = "List artifacts below a path (direct children, or every file with recursive)"
_GET = "Download one artifact file (streamed)"
_PUT = "Upload one artifact file (streamed; replaces the file atomically)"
_PUT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get(
    "/experiments/{experiment_id}/artifacts",
    summary=_LIST,
    dependencies=needs(READ, **_EXP),
)
def list_experiment_artifacts(
    experiment_id: str, state: State, path: str = "", recursive: bool = False
) -> JSON:
    return _list(state, "experiments", experiment_id, path, recursive)


@router.get(
    "/experiments/{experiment_id}/artifacts/{path:path}",
    summary=_GET,
    dependencies=needs(READ, **_EXP),
)
def get_experiment_artifact(experiment_id: str, path: str, state: State) -> Response:
    return _download(state, "experiments", experiment_id, path, head=False)


@router.head(
    "/experiments/{experiment_id}/artifacts/{path:path}",
    include_in_schema=False,
    dependencies=needs(READ, **_EXP),
)
def head_experiment_artifact(experiment_id: str, path: str, state: State) -> Response:
    return _download(state, "experiments", experiment_id, path, head=True)


@router.put(
    "/experiments/{experiment_id}/artifacts/{path:path}",
    summary=_PUT,
    openapi_extra=_PUT_BODY,
    dependencies=needs(EDIT, **_EXP),
)
async def put_experiment_artifact(
    experiment_id: str, path: str, request: Request, state: State
) -> JSON:
    return await _upload(state, "experiments", experiment_id, path, request)


@router.get("/runs/{run_id}/artifacts", summary=_LIST, dependencies=needs(READ, **_RUN))
def list_run_artifacts(run_id: str, state: State, path: str = "", recursive: bool = False) -> JSON:
    return _list(state, "runs", run_id, path, recursive)


@router.get("/runs/{run_id}/artifacts/{path:path}", summary=_GET, dependencies=needs(READ, **_RUN))
def get_run_artifact(run_id: str, path: str, state: State) -> Response:
    return _download(state, "runs", run_id, path, head=False)


@router.head(
    "/runs/{run_id}/artifacts/{path:path}",
    include_in_schema=False,
    dependencies=needs(READ, **_RUN),
)
def head_run_artifact(run_id: str, path: str, state: State) -> Response:
    return _download(state, "runs", run_id, path, head=True)


@router.put(
    "/runs/{run_id}/artifacts/{path:path}",
    summary=_PUT,
    openapi_extra=_PUT_BODY,
    dependencies=needs(EDIT, **_RUN),
)
async def put_run_artifact(run_id: str, path: str, request: Request, state: State) -> JSON:
    return await _upload(state, "runs", run_id, path, request)

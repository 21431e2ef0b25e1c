"""Lineage: the dataset versions runs read and wrote, and the runs behind a version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from flowtrack.errors import InvalidInputError
from flowtrack.server.api.access import READ, check, logged_in, needs
from flowtrack.server.api.deps import State
from flowtrack.server.api.runs import runs_json
from flowtrack.server.responses import JSON
from flowtrack.server.schemas import DatasetSearch
from flowtrack.store.events import DIRECTIONS
from flowtrack.store.rest.codec import dataset_to_dict

router = APIRouter(tags=["lineage"])


def _direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise InvalidInputError("direction", direction, "must be input or output")
    return direction


@router.get(
    "/runs/{run_id}/datasets",
    summary="The dataset versions a run read or wrote",
    dependencies=needs(READ, run_id="run_id"),
)
def get_run_datasets(run_id: str, state: State, direction: str = "input") -> JSON:
    versions = state.store.get_run_datasets(run_id, _direction(direction))
    return JSON({"versions": [dataset_to_dict(v) for v in versions]})


@router.post(
    "/dataset-versions/search",
    summary="Dataset versions by name or uri (newest first), or by content digest (oldest first)",
    dependencies=logged_in(),
)
def search_dataset_versions(body: DatasetSearch, state: State) -> JSON:
    if (body.names_or_uris is None) == (body.digests is None):
        raise InvalidInputError(
            "body", "dataset-versions/search", "give exactly one of names_or_uris or digests"
        )
    if body.digests is not None:
        versions = state.store.get_dataset_versions_by_digest(body.digests)
    else:
        versions = state.store.get_dataset_versions(body.names_or_uris or [])
    return JSON({"versions": [dataset_to_dict(v) for v in versions]})


@router.get(
    "/dataset-versions/{version_id}/runs",
    summary="The active runs that logged a version as input (readers) or output (writers)",
    dependencies=logged_in(),
)
async def get_dataset_runs(
    version_id: str, request: Request, state: State, direction: str = "input", expand: bool = False
) -> JSON:
    run_ids = await run_in_threadpool(
        state.store.get_dataset_run_ids, version_id, _direction(direction)
    )
    if not expand:
        return JSON({"run_ids": run_ids})
    runs = await run_in_threadpool(state.store.get_runs, run_ids)
    if runs:
        await check(request, READ, run_ids=[r.info.run_id for r in runs])
    return JSON({"run_ids": run_ids, "runs": runs_json(state, runs)})


@router.get(
    "/dataset-versions/producer",
    summary="The run that wrote this content: the creator of the version with one of these "
    "digests, at this uri if given, else the oldest",
    dependencies=logged_in(),
)
async def get_producer(
    request: Request,
    state: State,
    digest: Annotated[list[str], Query(description="Digests of the data as it is now")],
    uri: str | None = None,
) -> JSON:
    versions = await run_in_threadpool(state.store.get_dataset_versions_by_digest, digest)
    made = [v for v in versions if v.created_by_run_id]
    if not made:
        return JSON({"run": None, "version": None})
    chosen = next((v for v in made if v.uri == uri), made[0])
    runs = await run_in_threadpool(state.store.get_runs, [chosen.created_by_run_id or ""])
    if runs:
        await check(request, READ, run_ids=[runs[0].info.run_id])
    return JSON(
        {
            "run": runs_json(state, runs)[0] if runs else None,
            "version": dataset_to_dict(chosen),
        }
    )

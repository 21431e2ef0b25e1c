"""Experiments: create, read, search, rename, delete, restore, tags."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from flowtrack.entities import ViewType
from flowtrack.errors import NotFoundError
from flowtrack.server.api import guards
from flowtrack.server.api.access import (
    EDIT,
    MANAGE,
    READ,
    check,
    grant_creator,
    logged_in,
    needs,
    readable_experiment_ids,
)
from flowtrack.server.api.deps import State
from flowtrack.server.hardening import location_inside
from flowtrack.server.proxies import experiment_proxy
from flowtrack.server.responses import JSON
from flowtrack.server.schemas import ExperimentCreate, ExperimentIds, ExperimentName, KeyValue
from flowtrack.server.state import ServerState
from flowtrack.store.rest.codec import experiment_to_dict
from flowtrack.validation import validate_key, validate_tag_value

router = APIRouter(tags=["experiments"])
_ID = {"experiment_id": "experiment_id"}


def _one(state: ServerState, experiment_id: str) -> JSON:
    experiment = state.store.get_experiment(guards.experiment_id(experiment_id))
    return JSON(experiment_to_dict(experiment, experiment_proxy(state, experiment)))


@router.post("/experiments", summary="Create an experiment", dependencies=logged_in())
async def create_experiment(body: ExperimentCreate, request: Request, state: State) -> JSON:
    location = body.artifact_location or None
    if location is not None:
        # Inside the server's artifacts destination only: the artifact routes read and write an
        # experiment's location, which must not be a place of the client's choosing.
        location = location_inside(location, state.artifacts_destination)
    experiment_id = await run_in_threadpool(
        state.store.create_experiment, body.name, location, body.tags
    )
    await grant_creator(request, experiment_id=experiment_id)
    return JSON({"experiment_id": experiment_id})


@router.post(
    "/experiments/get-or-create",
    summary="The experiment of this name, made if new",
    dependencies=logged_in(),
)
async def get_or_create_experiment(body: ExperimentName, request: Request, state: State) -> JSON:
    found = await run_in_threadpool(state.store.get_experiment_by_name, body.name)
    if found is not None:
        await check(request, READ, experiment_ids=[found.experiment_id])
        experiment = found
    else:
        experiment = await run_in_threadpool(state.store.get_or_create_experiment, body.name)
        await grant_creator(request, experiment_id=experiment.experiment_id)
    return JSON(experiment_to_dict(experiment, experiment_proxy(state, experiment)))


@router.get(
    "/experiments/by-name",
    summary="The experiment of this name (404 if none)",
    dependencies=needs(READ, experiment_name="name"),
)
def get_experiment_by_name(state: State, name: str = Query(max_length=500)) -> JSON:
    experiment = state.store.get_experiment_by_name(name)
    if experiment is None:
        raise NotFoundError("experiment", name, "list them with GET /api/v1/experiments")
    return JSON(experiment_to_dict(experiment, experiment_proxy(state, experiment)))


@router.post(
    "/experiments/run-counts",
    summary="How many active runs each experiment has",
    dependencies=needs(READ, experiment_id="experiment_ids"),
)
def count_runs(body: ExperimentIds, state: State) -> JSON:
    return JSON({"counts": state.store.count_runs(guards.experiment_ids(body.experiment_ids))})


@router.get("/experiments", summary="Search experiments (a page)", dependencies=logged_in())
async def search_experiments(
    request: Request,
    state: State,
    view_type: ViewType = ViewType.ACTIVE_ONLY,
    max_results: int = Query(1000, ge=1, le=50_000),
    page_token: str | None = None,
    name_like: str | None = Query(None, description="SQL LIKE pattern, case-insensitive"),
) -> JSON:
    page = await run_in_threadpool(
        state.store.search_experiments,
        view_type,
        max_results,
        guards.page_token(page_token),
        name_like,
    )
    # With --auth, the experiments the caller may not read are left out of the page.
    readable = set(await readable_experiment_ids(request, [e.experiment_id for e in page.items]))
    items = [e for e in page.items if e.experiment_id in readable]
    return JSON(
        {
            "experiments": [experiment_to_dict(e, experiment_proxy(state, e)) for e in items],
            "next_page_token": page.token,
        }
    )


@router.get(
    "/experiments/{experiment_id}", summary="An experiment", dependencies=needs(READ, **_ID)
)
def get_experiment(experiment_id: str, state: State) -> JSON:
    return _one(state, experiment_id)


@router.patch(
    "/experiments/{experiment_id}", summary="Rename an experiment", dependencies=needs(EDIT, **_ID)
)
def rename_experiment(experiment_id: str, body: ExperimentName, state: State) -> JSON:
    experiment_id = guards.experiment_id(experiment_id)
    state.store.rename_experiment(experiment_id, body.name)
    return _one(state, experiment_id)


@router.delete(
    "/experiments/{experiment_id}",
    summary="Delete an experiment (restorable)",
    dependencies=needs(MANAGE, **_ID),
)
def delete_experiment(experiment_id: str, state: State) -> JSON:
    state.store.delete_experiment(guards.experiment_id(experiment_id))
    return JSON({})


@router.post(
    "/experiments/{experiment_id}/restore",
    summary="Restore a deleted experiment",
    dependencies=needs(MANAGE, **_ID),
)
def restore_experiment(experiment_id: str, state: State) -> JSON:
    experiment_id = guards.experiment_id(experiment_id)
    state.store.restore_experiment(experiment_id)
    return _one(state, experiment_id)


@router.post(
    "/experiments/{experiment_id}/tags",
    summary="Set a tag of an experiment",
    dependencies=needs(EDIT, **_ID),
)
def set_experiment_tag(experiment_id: str, body: KeyValue, state: State) -> JSON:
    key = validate_key("tag key", body.key)
    experiment_id = guards.experiment_id(experiment_id)
    state.store.get_experiment(experiment_id)  # 404 rather than a foreign-key failure
    state.store.set_experiment_tag(experiment_id, key, validate_tag_value(key, body.value))
    return JSON({})

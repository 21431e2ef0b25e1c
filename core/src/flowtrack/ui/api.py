"""JSON endpoints made for the web UI's pages, under ``/api/v1/ui`` (the rest of what the pages
show comes from the general API). Same permission checks as the rest of the API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from flowtrack.entities import ViewType
from flowtrack.server.api import guards
from flowtrack.server.api.access import READ, logged_in, needs, readable_experiment_ids
from flowtrack.server.api.deps import State
from flowtrack.server.proxies import experiment_proxy
from flowtrack.server.responses import JSON
from flowtrack.store.rest.codec import experiment_to_dict
from flowtrack.ui.queries import column_keys, run_activity

router = APIRouter(prefix="/api/v1/ui", tags=["web UI"])
MAX_EXPERIMENTS = 5000


@router.get(
    "/experiments",
    summary="Experiments with their active run counts and last activity (for the UI's list)",
    dependencies=logged_in(),
)
async def experiments(
    request: Request, state: State, view_type: ViewType = ViewType.ACTIVE_ONLY
) -> JSON:
    page = await run_in_threadpool(
        state.store.search_experiments, view_type, MAX_EXPERIMENTS, None, None
    )
    readable = set(await readable_experiment_ids(request, [e.experiment_id for e in page.items]))
    items = [e for e in page.items if e.experiment_id in readable]
    activity = await run_in_threadpool(run_activity, state.store, [e.experiment_id for e in items])
    return JSON(
        {
            "experiments": [
                {**experiment_to_dict(e, experiment_proxy(state, e)), **activity[e.experiment_id]}
                for e in items
            ],
            "truncated": page.token is not None,
        }
    )


@router.get(
    "/experiments/{experiment_id}/columns",
    summary="The param, metric and tag keys used by an experiment's runs",
    dependencies=needs(READ, experiment_id="experiment_id"),
)
def columns(experiment_id: str, state: State) -> JSON:
    experiment_id = guards.experiment_id(experiment_id)
    state.store.get_experiment(experiment_id)  # 404 for an unknown one
    return JSON(column_keys(state.store, experiment_id))

"""JSON endpoints made for the web UI's pages, under ``/api/v1/ui`` (the rest of what the pages
show comes from the general API). Same permission checks as the rest of the API."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from flowtrack.entities import ViewType
from flowtrack.server.api import guards
from flowtrack.server.api.access import (
    READ,
    auth_on,
    logged_in,
    needs,
    readable_experiment_ids,
    readable_model_names,
)
from flowtrack.server.api.deps import State
from flowtrack.server.api.guards import VersionNumber
from flowtrack.server.proxies import experiment_proxy
from flowtrack.server.responses import JSON
from flowtrack.store.rest.codec import experiment_to_dict
from flowtrack.ui import lineage, pipelines
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


@router.get(
    "/datasets",
    summary="Every dataset name with its number of versions and its latest version",
    dependencies=logged_in(),
)
async def datasets(request: Request, state: State) -> JSON:
    found = await run_in_threadpool(lineage.datasets, state.store)
    creators = [d["created_by"] for d in found["datasets"] if d["created_by"]]
    readable = set(await readable_experiment_ids(request, {r["experiment_id"] for r in creators}))
    for d in found["datasets"]:
        if d["created_by"] and d["created_by"]["experiment_id"] not in readable:
            d["created_by"] = None  # a run the caller may not read
    return JSON(found)


@router.get(
    "/dataset-versions",
    summary="One dataset's newest 200 versions with the runs that wrote and read each",
    dependencies=logged_in(),
)
async def dataset_versions(
    request: Request, state: State, name: str = Query(min_length=1, max_length=500)
) -> JSON:
    versions, total = await run_in_threadpool(lineage.dataset_versions, state.store, name)
    # With --auth, runs in experiments the caller may not read are left out.
    runs = [r for v in versions for r in v["written_by"] + v["read_by"]]
    readable = set(await readable_experiment_ids(request, {r["experiment_id"] for r in runs}))
    for v in versions:
        for key in ("written_by", "read_by"):
            v[key] = [r for r in v[key] if r["experiment_id"] in readable]
    return JSON({"name": name, "versions": versions, "total": total})


_DEPTH = Query(4, ge=1, le=6, description="How many edges away from the node to walk")


async def _readable_graph(request: Request, graph: lineage.Graph) -> JSON:
    """The graph without the runs and model versions the caller may not read (the root is
    checked by the route)."""
    nodes: list[dict[str, Any]] = list(graph.nodes.values())
    experiments = {n["experiment_id"] for n in nodes if n["kind"] == "run"}
    models = sorted({n["name"] for n in nodes if n["kind"] == "model"})
    readable_experiments = set(await readable_experiment_ids(request, experiments))
    readable_models = set(await readable_model_names(request, models))
    graph.keep(
        n["key"]
        for n in nodes
        if n["kind"] == "dataset"
        or n["key"] == graph.root
        or (n["kind"] == "run" and n["experiment_id"] in readable_experiments)
        or (n["kind"] == "model" and n["name"] in readable_models)
    )
    return JSON(graph.to_json())


@router.get(
    "/lineage/runs/{run_id}",
    summary="The lineage graph around a run",
    dependencies=needs(READ, run_id="run_id"),
)
async def run_lineage(request: Request, state: State, run_id: str, depth: int = _DEPTH) -> JSON:
    graph = await run_in_threadpool(lineage.lineage, state.store, "run", run_id, 0, depth)
    return await _readable_graph(request, graph)


@router.get(
    "/lineage/dataset-versions/{version_id}",
    summary="The lineage graph around a dataset version",
    dependencies=logged_in(),
)
async def dataset_lineage(
    request: Request, state: State, version_id: str, depth: int = _DEPTH
) -> JSON:
    graph = await run_in_threadpool(lineage.lineage, state.store, "dataset", version_id, 0, depth)
    return await _readable_graph(request, graph)


@router.get(
    "/lineage/registered-models/{name}/versions/{version}",
    summary="The lineage graph around a model version",
    dependencies=needs(READ, model_name="name"),
)
async def model_lineage(
    request: Request, state: State, name: str, version: VersionNumber, depth: int = _DEPTH
) -> JSON:
    graph = await run_in_threadpool(lineage.lineage, state.store, "model", name, version, depth)
    return await _readable_graph(request, graph)


@router.get(
    "/pipelines",
    summary="Pipeline runs (DAG runs, flow runs) newest first, with task counts per state",
    dependencies=logged_in(),
)
async def pipeline_runs(
    request: Request,
    state: State,
    source: str | None = Query(None, max_length=20, description="airflow, prefect, spark, k8s"),
    name: str | None = Query(None, max_length=500, description="The DAG id or flow name"),
    offset: int = Query(0, ge=0),
    limit: int = Query(pipelines.PAGE, ge=1, le=pipelines.MAX_PAGE),
) -> JSON:
    experiment_ids = None
    if auth_on(request):  # only the experiments the caller may read
        page = await run_in_threadpool(
            state.store.search_experiments, ViewType.ALL, MAX_EXPERIMENTS, None, None
        )
        experiment_ids = await readable_experiment_ids(
            request, [e.experiment_id for e in page.items]
        )
    found = await run_in_threadpool(
        functools.partial(
            pipelines.pipeline_runs,
            state.store,
            source=source or None,
            name=name or None,
            offset=offset,
            limit=limit,
            experiment_ids=experiment_ids,
        )
    )
    return JSON(found)


@router.get(
    "/pipelines/{run_id}",
    summary="A pipeline run with its task runs as a graph (nodes, edges) and their times",
    dependencies=needs(READ, run_id="run_id"),
)
async def pipeline(request: Request, state: State, run_id: str) -> JSON:
    found = await run_in_threadpool(pipelines.pipeline, state.store, run_id)
    if auth_on(request):  # task runs in experiments the caller may not read are left out
        experiments = {t["experiment_id"] for t in found["tasks"]}
        if found["run"]["parent"]:
            experiments.add(found["run"]["parent"]["experiment_id"])
        readable = set(await readable_experiment_ids(request, experiments))
        found = pipelines.keep_readable(found, readable)
    return JSON(found)

"""Runs: read, search, children, metric history; create, update, delete, restore."""

from __future__ import annotations

import contextlib
import time
import uuid

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from flowtrack.entities import Run, RunStatus
from flowtrack.errors import ConflictError, InvalidInputError, NotFoundError
from flowtrack.server.api import guards
from flowtrack.server.api.access import (
    EDIT,
    MANAGE,
    READ,
    auth_on,
    check,
    grant_creator,
    logged_in,
    needs,
)
from flowtrack.server.api.deps import State
from flowtrack.server.downsample import MIN_POINTS, downsample_columns, step_window
from flowtrack.server.events import check_batch
from flowtrack.server.proxies import run_proxy
from flowtrack.server.responses import JSON
from flowtrack.server.schemas import RunCreate, RunIds, RunSearch, RunUpdate
from flowtrack.server.state import ServerState, current_user
from flowtrack.store.events import Event
from flowtrack.store.paging import decode_token, encode_token
from flowtrack.store.rest.codec import history_to_dict, run_to_dict
from flowtrack.validation import (
    validate_key,
    validate_run_id,
    validate_run_name,
    validate_tag_value,
)

router = APIRouter(tags=["runs"])
_RUN = {"run_id": "run_id"}

MAX_HISTORY_PAGE = 1_000_000


def runs_json(state: ServerState, runs: list[Run]) -> list[dict[str, object]]:
    return [run_to_dict(r, run_proxy(state, r)) for r in runs]


def write(state: ServerState, events: list[Event]) -> None:
    """Apply events made by a convenience endpoint: all of them, or a 409 naming the refusals
    (the store writes the others, as `Client.log_batch` does)."""
    good, bad = check_batch(events, None)
    if bad:
        raise InvalidInputError("request", events[bad[0][0]], bad[0][1])
    rejections = state.store.apply_events(good)
    for r in rejections:
        if r.reason.startswith("the run does not exist"):
            raise NotFoundError("run", str(r.event.get("run_id")), "create it first")
    if rejections:
        raise ConflictError("; ".join(str(r) for r in rejections))


def _now() -> int:
    return int(time.time() * 1000)


async def target_experiment(
    request: Request, state: ServerState, experiment_id: object, experiment_name: object
) -> str | None:
    """With --auth: the id of the experiment a new run goes to, after checking the caller may
    EDIT it; an experiment the run creates by name is made here, its creator getting MANAGE.
    Without auth: None (the store resolves it as usual)."""
    if not auth_on(request):
        return None
    found = None
    if experiment_id is not None:
        # An unknown id falls back to the name, as the store does (a journal must never be
        # stuck on a 404).
        with contextlib.suppress(NotFoundError, InvalidInputError):
            found = await run_in_threadpool(
                state.store.get_experiment, guards.experiment_id(experiment_id)
            )
    if found is None:
        name = experiment_name if isinstance(experiment_name, str) else "Default"
        found = await run_in_threadpool(state.store.get_experiment_by_name, name)
        if found is None:
            found = await run_in_threadpool(state.store.get_or_create_experiment, name)
            await grant_creator(request, experiment_id=found.experiment_id)
            return found.experiment_id
    await check(request, EDIT, experiment_ids=[found.experiment_id])
    return found.experiment_id


@router.post("/runs", summary="Create a run", dependencies=logged_in())
async def create_run(body: RunCreate, request: Request, state: State) -> JSON:
    run_id = validate_run_id(body.run_id) if body.run_id else uuid.uuid4().hex
    experiment_id = body.experiment_id
    if experiment_id is not None:
        # 404 rather than the Default experiment.
        await run_in_threadpool(state.store.get_experiment, guards.experiment_id(experiment_id))
    chosen = await target_experiment(request, state, experiment_id, body.experiment_name)
    event: Event = {
        "op": "create_run",
        "run_id": run_id,
        "experiment_id": chosen or experiment_id,
        "experiment_name": body.experiment_name if experiment_id is None else None,
        "run_name": validate_run_name(body.run_name) if body.run_name else run_id[:8],
        "parent_run_id": body.parent_run_id,
        "start_time": body.start_time or _now(),
        "user_id": current_user(request) or body.user_id or "",
        "source_type": body.source_type or "python",
        "source_ref": body.source_ref,
        "tags": {
            validate_key("tag key", k): validate_tag_value(k, v) for k, v in body.tags.items()
        },
    }
    await run_in_threadpool(write, state, [event])
    run = await run_in_threadpool(state.store.get_run, run_id)
    return JSON(run_to_dict(run, run_proxy(state, run)))


@router.post(
    "/runs/get",
    summary="Runs by id, in the order asked (unknown ids are left out)",
    dependencies=logged_in(),
)
async def get_runs(body: RunIds, request: Request, state: State) -> JSON:
    runs = await run_in_threadpool(state.store.get_runs, body.run_ids)
    if runs:
        await check(request, READ, run_ids=[r.info.run_id for r in runs])
    return JSON({"runs": runs_json(state, runs)})


@router.post(
    "/runs/search",
    summary="Search runs with MLflow's filter grammar (a page)",
    dependencies=needs(READ, experiment_id="experiment_ids"),
)
def search_runs(body: RunSearch, state: State) -> JSON:
    page = state.store.search_runs(
        guards.experiment_ids(body.experiment_ids),
        body.filter,
        body.order_by,
        body.view_type,
        body.max_results,
        guards.page_token(body.page_token),
    )
    return JSON({"runs": runs_json(state, page.items), "next_page_token": page.token})


@router.get(
    "/runs/{run_id}",
    summary="A run: info, params, latest metrics, tags",
    dependencies=needs(READ, **_RUN),
)
def get_run(run_id: str, state: State) -> JSON:
    run = state.store.get_run(run_id)
    return JSON(run_to_dict(run, run_proxy(state, run)))


@router.patch(
    "/runs/{run_id}",
    summary="Set a run's status, end time or name",
    dependencies=needs(EDIT, **_RUN),
)
def update_run(run_id: str, body: RunUpdate, state: State) -> JSON:
    event: Event = {"op": "update_run", "run_id": run_id}
    if body.status is not None:
        try:
            status = RunStatus(body.status)
        except ValueError:
            raise InvalidInputError(
                "status", body.status, "must be RUNNING, FINISHED, FAILED or KILLED"
            ) from None
        event["status"] = str(status)
        if status.is_terminal:
            event["end_time"] = body.end_time or _now()
    elif body.end_time is not None:
        event["end_time"] = body.end_time
    if body.run_name is not None:
        event["run_name"] = validate_run_name(body.run_name)
    state.store.get_run(run_id)  # 404 rather than a refusal
    write(state, [event])
    run = state.store.get_run(run_id)
    return JSON(run_to_dict(run, run_proxy(state, run)))


@router.delete(
    "/runs/{run_id}", summary="Delete a run (restorable)", dependencies=needs(MANAGE, **_RUN)
)
def delete_run(run_id: str, state: State) -> JSON:
    state.store.delete_run(run_id)
    return JSON({})


@router.post(
    "/runs/{run_id}/restore",
    summary="Restore a deleted run",
    dependencies=needs(MANAGE, **_RUN),
)
def restore_run(run_id: str, state: State) -> JSON:
    state.store.restore_run(run_id)
    return JSON({})


@router.get(
    "/runs/{run_id}/children",
    summary="Ids of a run's active child runs",
    dependencies=needs(READ, **_RUN),
)
def get_children(run_id: str, state: State) -> JSON:
    return JSON({"run_ids": state.store.get_child_run_ids(run_id)})


@router.get(
    "/runs/{run_id}/metrics/history",
    summary="A metric's history: every point (paged), or at most max_points for a chart",
    dependencies=needs(READ, **_RUN),
    description=(
        "Without `max_points`: the points as stored, `max_results` per page; pass "
        "`next_page_token` back as `page_token` for the next page. With `max_points` (at "
        "least 3): one answer of at most that many points, sorted by step: the first and "
        "last point and the lowest and highest value of each of (max_points - 2) / 2 "
        'equal-count buckets. Values are numbers or "NaN", "Infinity", "-Infinity". '
        "`min_step`/`max_step` (with `max_points`) keep only the points in that step range "
        "before downsampling: a chart zoomed into a window of a long history gets that "
        "window's detail. `points` is how many points the (windowed) history holds."
    ),
)
def get_metric_history(
    run_id: str,
    state: State,
    key: str = Query(max_length=250),
    max_results: int = Query(100_000, ge=1, le=MAX_HISTORY_PAGE),
    page_token: str | None = None,
    max_points: int | None = Query(None, ge=MIN_POINTS, le=MAX_HISTORY_PAGE),
    min_step: int | None = Query(None, ge=-(2**63), le=2**63 - 1),
    max_step: int | None = Query(None, ge=-(2**63), le=2**63 - 1),
) -> JSON:
    points = state.store.get_metric_columns(run_id, key)
    if not points.steps:
        state.store.get_run(run_id)  # an unknown run is a 404, an unknown key an empty list
    if min_step is not None and max_step is not None and min_step > max_step:
        raise InvalidInputError("min_step", min_step, f"is above max_step ({max_step})")
    if max_points is not None:
        window = step_window(points, min_step, max_step)
        return JSON(
            {
                **history_to_dict(key, downsample_columns(window, max_points)),
                "points": len(window.steps),
                "next_page_token": None,
            }
        )
    if min_step is not None or max_step is not None:
        raise InvalidInputError("max_points", None, "is needed with min_step and max_step")
    offset = decode_token(guards.page_token(page_token))
    page = points.page(offset, offset + max_results)
    more = offset + max_results < len(points.steps)
    token = encode_token(offset + max_results) if more else None
    return JSON({**history_to_dict(key, page), "next_page_token": token})

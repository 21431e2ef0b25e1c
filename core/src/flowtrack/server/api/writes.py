"""The write path: event batches (flowtrack's client) and log-batch / log-metric (others)."""

from __future__ import annotations

import json
import time
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from flowtrack.errors import InvalidInputError
from flowtrack.server.api.access import EDIT, auth_on, check, logged_in, needs
from flowtrack.server.api.deps import State
from flowtrack.server.api.runs import target_experiment, write
from flowtrack.server.events import check_batch
from flowtrack.server.responses import JSON
from flowtrack.server.schemas import EventBatch, LogBatch, MetricPoint
from flowtrack.server.state import ServerState, current_user
from flowtrack.store.events import Event
from flowtrack.store.rest.codec import dec_float
from flowtrack.validation import (
    validate_key,
    validate_key_cached,
    validate_param_value,
    validate_step,
    validate_tag_value,
    validate_timestamp,
)

router = APIRouter(tags=["writes"])

_EVENTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": EventBatch.model_json_schema()}},
    }
}


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        # Python's json module writes NaN and Infinity as bare words; take those too.
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidInputError(
            "body", raw[:100].decode(errors="replace"), f"is not JSON: {exc}"
        ) from None


def _apply(state: ServerState, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInputError(
            "body", type(body).__name__, 'must be {"events": [...], "journal_id": ...}'
        )
    journal_id = body.get("journal_id")
    events, bad = check_batch(body.get("events"), journal_id)
    rejections: list[dict[str, Any]] = [{"index": i, "reason": reason} for i, reason in bad]
    new_versions: list[str] = []
    if events:
        position = {id(e): i for i, e in enumerate(body["events"])}
        applied = state.store.apply_events(events, journal_id)
        rejections += [{"index": position[id(r.event)], "reason": r.reason} for r in applied]
        new_versions = sorted(getattr(applied, "new_versions", ()))
    rejections.sort(key=lambda r: r["index"])
    return {"rejections": rejections, "new_versions": new_versions}


async def _authorize(request: Request, state: ServerState, body: Any) -> None:
    """With --auth: the caller must be able to EDIT every experiment the batch creates runs in
    and every existing run it writes to; new runs are recorded under the caller's name.
    Events for runs that do not exist are left to the store, which refuses them. A create_run
    of a run that exists needs EDIT on it too: it may complete a provisional run."""
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list):
        return
    user = current_user(request)
    for e in events:
        if isinstance(e, dict) and e.get("op") == "create_run":
            chosen = await target_experiment(
                request, state, e.get("experiment_id"), e.get("experiment_name")
            )
            e["experiment_id"], e["user_id"] = chosen, user
    touched = {
        e["run_id"] for e in events if isinstance(e, dict) and isinstance(e.get("run_id"), str)
    }
    if touched:
        known = await run_in_threadpool(state.store.get_runs, sorted(touched))
        if known:
            await check(request, EDIT, run_ids=[r.info.run_id for r in known])


@router.post(
    "/events",
    summary="Apply a batch of store events in one transaction (flowtrack's client write path)",
    description=(
        "The ops and their fields are those of flowtrack/store/events.py: create_run, metric, "
        "metrics, param, tag, delete_tag, update_run, artifacts, dataset, run_dataset. Events "
        "that cannot be written (an unknown, deleted or ended run; a param's second value; a "
        "malformed event) are answered as `rejections` (index in the batch and reason); the "
        "others are written. `new_versions` are the ids of dataset versions the batch created. "
        "With authentication on, the caller needs EDIT on the experiments and runs written to."
    ),
    openapi_extra=_EVENTS_BODY,
    dependencies=logged_in(),
)
async def apply_events(request: Request, state: State) -> JSON:
    body = parse_json(await request.body())
    if auth_on(request):
        await _authorize(request, state, body)
    return JSON(await run_in_threadpool(_apply, state, body))


def _metric_event(run_id: str, m: MetricPoint) -> Event:
    key = validate_key_cached("metric key", m.key)
    value = dec_float(m.value, f"value of metric {key!r}")
    timestamp = int(time.time() * 1000) if m.timestamp is None else m.timestamp
    return {
        "op": "metric",
        "run_id": run_id,
        "key": key,
        "value": value,
        "timestamp": validate_timestamp(key, timestamp),
        "step": validate_step(key, m.step),
    }


@router.post(
    "/runs/{run_id}/log-batch",
    summary="Log metrics, params and tags of a run in one transaction",
    dependencies=needs(EDIT, run_id="run_id"),
    description="Up to 10,000 items. A refused item (a param's second value, an ended run) is "
    "a 409 naming it; the others are written.",
)
def log_batch(run_id: str, body: LogBatch, state: State) -> JSON:
    if len(body.metrics) + len(body.params) + len(body.tags) > 10_000:
        raise InvalidInputError("body", "log-batch", "holds more than 10,000 items; split it")
    events: list[Event] = []
    for p in body.params:
        key = validate_key("param key", p.key)
        events.append(
            {
                "op": "param",
                "run_id": run_id,
                "key": key,
                "value": validate_param_value(key, p.value),
            }
        )
    for t in body.tags:
        key = validate_key("tag key", t.key)
        events.append(
            {"op": "tag", "run_id": run_id, "key": key, "value": validate_tag_value(key, t.value)}
        )
    events += [_metric_event(run_id, m) for m in body.metrics]
    if events:
        write(state, events)
    return JSON({})


@router.post(
    "/runs/{run_id}/log-metric",
    summary="Log one metric point of a run",
    dependencies=needs(EDIT, run_id="run_id"),
)
def log_metric(run_id: str, body: MetricPoint, state: State) -> JSON:
    write(state, [_metric_event(run_id, body)])
    return JSON({})


@router.delete(
    "/runs/{run_id}/tags",
    summary="Delete a tag of a run",
    dependencies=needs(EDIT, run_id="run_id"),
)
def delete_tag(run_id: str, state: State, key: str = Query(max_length=250)) -> JSON:
    write(state, [{"op": "delete_tag", "run_id": run_id, "key": validate_key("tag key", key)}])
    return JSON({})

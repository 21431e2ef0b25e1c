"""``/api/2.0/mlflow/runs/log-inputs`` and ``runs/outputs``: what a run read and produced.

MLflow's datasets (``mlflow.log_input``) become flowtrack dataset versions linked to the run as
inputs, so flowtrack's lineage queries see them; they are recorded by reference (MLflow's own
digest identifies the content, nothing is hashed here). MLflow 3's model outputs are accepted:
the logged model itself names its source run.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter

from flowtrack.server.mlflow import access
from flowtrack.server.mlflow.errors import MlflowRoute, invalid
from flowtrack.server.mlflow.request import Params, endpoint
from flowtrack.server.mlflow.writes import apply, live_run, run_id_of
from flowtrack.server.state import ServerState
from flowtrack.store.base import TrackingStore
from flowtrack.store.events import Event

router = APIRouter(route_class=MlflowRoute)


def _dataset_uri(source: str) -> str:
    """MLflow's dataset ``source`` is a JSON object such as ``{"uri": "s3://b/k"}``."""
    try:
        parsed = json.loads(source)
    except ValueError:
        return source
    if isinstance(parsed, dict):
        for field in ("uri", "url", "path"):
            if isinstance(parsed.get(field), str):
                return str(parsed[field])
    return source


@endpoint(router, "/runs/log-inputs", "POST", access=access.on_run(access.EDIT))
def log_inputs(state: ServerState, params: Params) -> dict[str, Any]:
    """Record MLflow datasets as flowtrack dataset versions the run read (``reference`` mode:
    MLflow's digest identifies them, nothing is hashed); model inputs are ignored."""
    run_id = run_id_of(params)
    events: list[Event] = []
    now = int(time.time() * 1000)
    for item in params.objects("datasets"):
        dataset = item.get("dataset")
        if not isinstance(dataset, dict):
            raise invalid(f"Invalid datasets entry {item!r}: it needs a 'dataset' object")
        fields = Params(dataset)
        name, digest = fields.req_text("name"), fields.req_text("digest")
        uri = _dataset_uri(fields.text("source") or name)
        events.append(
            {
                "op": "dataset",
                "run_id": run_id,
                "direction": "input",
                "version_id": uuid.uuid4().hex,
                "name": name,
                "uri": uri,
                "digest": digest,
                "algorithm": "mlflow",
                "size": 0,
                "file_count": 0,
                "mode": "reference",
                "created_by_run_id": None,
                "created_time": now,
            }
        )
        events.append(
            {
                "op": "run_dataset",
                "run_id": run_id,
                "uri": uri,
                "digest": digest,
                "direction": "input",
            }
        )
    if events:
        apply(state.store, run_id, events)
    else:
        live_run(state.store, run_id)
    return {}


def dataset_inputs(store: TrackingStore, run_id: str) -> list[dict[str, Any]]:
    """The run's input dataset versions as MLflow's ``inputs.dataset_inputs``."""
    out = []
    for version in store.get_run_datasets(run_id, "input"):
        if version.uri.startswith("{"):
            # A source with no location (code, a DataFrame built in memory) was kept as sent.
            source, source_type = version.uri, "code"
        else:
            scheme = urlparse(version.uri).scheme
            source = json.dumps({"uri": version.uri})
            source_type = "http" if scheme in ("http", "https") else scheme or "local"
        out.append(
            {
                "tags": [],
                "dataset": {
                    "name": version.name,
                    "digest": version.digest,
                    "source_type": source_type,
                    "source": source,
                },
            }
        )
    return out


@endpoint(router, "/runs/outputs", "POST", access=access.on_run(access.EDIT))
def log_outputs(state: ServerState, params: Params) -> dict[str, Any]:
    """Accepted for MLflow 3's log_model; the link from a run to the models it logged is kept
    by the logged model itself (its source_run_id)."""
    live_run(state.store, run_id_of(params))
    return {}

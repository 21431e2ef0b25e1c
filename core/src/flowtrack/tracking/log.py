"""Module-level logging calls: params, metrics, tags and artifacts of the active run.

Each call validates its input, then hands events to the writer (a journal write and a deque
append); nothing here waits for the store.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from flowtrack.errors import ConflictError, InvalidInputError, StoreUnavailableError
from flowtrack.store.events import Event
from flowtrack.tracking.context import RunState
from flowtrack.tracking.policy import guarded, submit
from flowtrack.tracking.runs import require_run
from flowtrack.tracking.stores import get_artifact_store, get_store
from flowtrack.tracking.writer import get_writer
from flowtrack.validation import (
    validate_artifact_path,
    validate_key_cached,
    validate_metric_value,
    validate_param_value,
    validate_step,
    validate_tag_value,
    validate_timestamp,
)


def _metric_event(run_id: str, key: Any, value: Any, step: Any, timestamp: Any, now: int) -> Event:
    key = validate_key_cached("metric key", key)
    return {
        "op": "metric",
        "run_id": run_id,
        "key": key,
        "value": validate_metric_value(key, value),
        "timestamp": now if timestamp is None else validate_timestamp(key, timestamp),
        "step": 0 if step is None else validate_step(key, step),
    }


@guarded(None)
def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Log one point of a metric (NaN and inf are kept); ``step`` defaults to 0."""
    state = require_run()
    submit(
        state, [_metric_event(state.run_id, key, value, step, timestamp, int(time.time() * 1000))]
    )


@guarded(None)
def log_metrics(
    metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
) -> None:
    """Log several metrics at one step; all are checked before any is logged."""
    state = require_run()
    # The hot path of a training loop: step and time are checked once for all keys, and the
    # common types skip the validators' slower checks.
    when = (
        int(time.time() * 1000) if timestamp is None else validate_timestamp("metrics", timestamp)
    )
    at = 0 if step is None else validate_step("metrics", step)
    values: dict[str, float] = {}
    for key, value in metrics.items():
        validate_key_cached("metric key", key)
        values[key] = value if type(value) is float else validate_metric_value(key, value)
    if values:
        # One event for the whole call: one journal line instead of one per key.
        submit(
            state,
            [
                {
                    "op": "metrics",
                    "run_id": state.run_id,
                    "values": values,
                    "timestamp": when,
                    "step": at,
                }
            ],
        )


def _param_events(state: RunState, params: Mapping[str, Any]) -> list[Event]:
    events = []
    staged: dict[str, str] = {}
    for raw_key, value in params.items():
        key = validate_key_cached("param key", raw_key)
        text = validate_param_value(key, value)
        known = state.params.get(key, staged.get(key))
        if known is not None and known != text:
            raise ConflictError(
                f"param {key!r} of run {state.run_id} already has value {known!r}; params are "
                f"immutable, so {text!r} was not logged (use a new key or a new run)"
            )
        if known is None:
            staged[key] = text
            events.append({"op": "param", "run_id": state.run_id, "key": key, "value": text})
    state.params.update(staged)
    return events


@guarded(None)
def log_param(key: str, value: Any) -> Any:
    """Log a param (stored as text). A second, different value for the key is refused."""
    state = require_run()
    submit(state, _param_events(state, {key: value}))
    return value


@guarded(None)
def log_params(params: Mapping[str, Any]) -> None:
    """Log several params; if any is invalid or conflicts, none is logged."""
    state = require_run()
    submit(state, _param_events(state, params))


def _tag_events(run_id: str, tags: Mapping[str, Any]) -> list[Event]:
    return [
        {
            "op": "tag",
            "run_id": run_id,
            "key": validate_key_cached("tag key", k),
            "value": validate_tag_value(k, v),
        }
        for k, v in tags.items()
    ]


@guarded(None)
def set_tag(key: str, value: Any) -> None:
    state = require_run()
    submit(state, _tag_events(state.run_id, {key: value}))


@guarded(None)
def set_tags(tags: Mapping[str, Any]) -> None:
    state = require_run()
    submit(state, _tag_events(state.run_id, tags))


@guarded(None)
def delete_tag(key: str) -> None:
    state = require_run()
    submit(
        state,
        [{"op": "delete_tag", "run_id": state.run_id, "key": validate_key_cached("tag key", key)}],
    )


# -- artifacts -------------------------------------------------------------------------------


def _artifact_uri(state: RunState) -> str:
    if state.artifact_uri is None:
        # The run was started while the store was down; it knows where the run's files go.
        get_writer(state.uri).flush()
        state.artifact_uri = get_store(state.uri).get_run(state.run_id).info.artifact_uri
    return state.artifact_uri


@guarded(None)
def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> None:
    """Copy a file or a folder into the active run's artifacts, under ``artifact_path``."""
    state = require_run()
    path = Path(local_path)
    target = validate_artifact_path(artifact_path)
    if not path.exists():
        raise InvalidInputError("local_path", str(local_path), "does not exist")
    try:
        store = get_artifact_store(_artifact_uri(state))
        if path.is_dir():
            written = store.log_dir(path, f"{target}/{path.name}".lstrip("/"))
        else:
            written = [store.log_file(path, target)]
    except (StoreUnavailableError, OSError) as exc:
        raise StoreUnavailableError(f"artifact {str(local_path)!r} was not stored: {exc}") from exc
    _announce(state, written)


@guarded(None)
def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> None:
    """Copy the contents of a folder into the active run's artifacts, under ``artifact_path``."""
    state = require_run()
    path = Path(local_dir)
    if not path.is_dir():
        raise InvalidInputError("local_dir", str(local_dir), "is not a folder")
    target = validate_artifact_path(artifact_path)
    written = get_artifact_store(_artifact_uri(state)).log_dir(path, target)
    _announce(state, written)


def _announce(state: RunState, paths: list[str]) -> None:
    submit(state, [{"op": "artifacts", "run_id": state.run_id, "paths": paths}])


def _log_bytes(data: bytes, artifact_file: str) -> None:
    relative = validate_artifact_path(artifact_file, "artifact_file")
    if not relative:
        raise InvalidInputError("artifact_file", artifact_file, "must name a file")
    folder, _, name = relative.rpartition("/")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        log_artifact(path, folder or None)


@guarded(None)
def log_text(text: str, artifact_file: str) -> None:
    """Store ``text`` as the artifact file ``artifact_file`` (e.g. "notes/summary.txt")."""
    _log_bytes(text.encode(), artifact_file)


@guarded(None)
def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> None:
    """Store a dict as JSON, or as YAML when ``artifact_file`` ends in .yaml or .yml."""
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        data = yaml.safe_dump(dict(dictionary), sort_keys=False).encode()
    else:
        data = json.dumps(dictionary, indent=2, default=str).encode()
    _log_bytes(data, artifact_file)


@guarded(cast(str | None, None))
def get_artifact_uri(artifact_path: str | None = None) -> str | None:
    state = require_run()
    base = _artifact_uri(state)
    relative = validate_artifact_path(artifact_path)
    return f"{base}/{relative}" if relative else base

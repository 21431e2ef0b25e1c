"""`log_model`: a model directory stored as an artifact of the active run.

Unlike the other logging calls, this one is synchronous and raises: the model's files are in
the artifact store when it returns, because the returned URI is meant to be loaded or
registered right away. The run's tag ``flowtrack.log-model.history`` (a JSON list, as
MLflow's ``mlflow.log-model.history``) records every model logged in the run.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flowtrack.entities import RunStatus
from flowtrack.errors import FlowtrackError, InvalidInputError, StoreUnavailableError
from flowtrack.models.manifest import ModelManifest
from flowtrack.models.save import write_model_dir
from flowtrack.models.signature import ModelSignature
from flowtrack.store.events import Event
from flowtrack.tracking import context
from flowtrack.tracking.context import RunState
from flowtrack.tracking.log import _artifact_uri
from flowtrack.tracking.policy import submit
from flowtrack.tracking.runs import end_run, start_run
from flowtrack.tracking.stores import get_artifact_store, get_store
from flowtrack.tracking.writer import get_writer
from flowtrack.validation import MAX_TAG_VALUE_LENGTH, validate_artifact_path

log = logging.getLogger("flowtrack.models")

HISTORY_TAG = "flowtrack.log-model.history"


@dataclass(frozen=True)
class ModelInfo:
    """What `log_model` stored. ``model_uri`` (also ``uri``) is ``runs:/<run_id>/<path>``."""

    model_uri: str
    run_id: str
    artifact_path: str
    flavor: str
    flavors: dict[str, dict[str, Any]]
    signature: ModelSignature | None
    model_uuid: str
    manifest: ModelManifest
    registered_model_version: Any = None

    @property
    def uri(self) -> str:
        return self.model_uri


def log_model(
    model: object,
    artifact_path: str = "model",
    input_example: Any = None,
    signature: ModelSignature | None = None,
    flavor: str | None = None,
    requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    flavor_options: Mapping[str, Any] | None = None,
    registered_model_name: str | None = None,
) -> ModelInfo:
    """Save ``model`` (as `save_model`) into the active run's artifacts under ``artifact_path``.

    With no active run, one is started and ended around the call, as MLflow does. With
    ``registered_model_name`` the model is also registered (``info.registered_model_version``).
    """
    target = validate_artifact_path(artifact_path)
    if not target:
        raise InvalidInputError(
            "artifact_path", artifact_path, "must name a folder in the run's artifacts ('model')"
        )
    started = None
    state = context.current()
    if state is None:
        started = start_run()
        state = started._state
    try:
        info = _log(
            state,
            target,
            model,
            input_example=input_example,
            signature=signature,
            flavor=flavor,
            requirements=requirements,
            metadata=metadata,
            flavor_options=flavor_options,
        )
    except BaseException:
        if started is not None:
            end_run(RunStatus.FAILED)
        raise
    if started is not None:
        end_run()
    if registered_model_name is None:
        return info
    return replace(info, registered_model_version=_register(info, registered_model_name))


def _log(state: RunState, target: str, model: object, **options: Any) -> ModelInfo:
    try:
        store = get_artifact_store(_artifact_uri(state))
        if store.list(target):
            raise InvalidInputError(
                "artifact_path",
                target,
                f"run {state.run_id} already has artifacts there; log the model under "
                "another artifact_path",
            )
        with tempfile.TemporaryDirectory(prefix="flowtrack-model-") as tmp:
            folder = Path(tmp) / "model"
            folder.mkdir()
            manifest = write_model_dir(
                model, folder, run_id=state.run_id, artifact_path=target, **options
            )
            written = store.log_dir(folder, target)
    except OSError as exc:
        raise StoreUnavailableError(f"the model was not stored at {target!r}: {exc}") from exc
    events: list[Event] = [
        {"op": "artifacts", "run_id": state.run_id, "paths": written},
        {
            "op": "tag",
            "run_id": state.run_id,
            "key": HISTORY_TAG,
            "value": _history(state, manifest, target),
        },
    ]
    submit(state, events)
    return ModelInfo(
        model_uri=f"runs:/{state.run_id}/{target}",
        run_id=state.run_id,
        artifact_path=target,
        flavor=manifest.flavor,
        flavors=manifest.flavors,
        signature=manifest.signature,
        model_uuid=manifest.model_uuid,
        manifest=manifest,
    )


def _history(state: RunState, manifest: ModelManifest, target: str) -> str:
    """The run's history tag with this model appended; the oldest entries are dropped when
    it would not fit in a tag value."""
    try:
        get_writer(state.uri).flush()
        current = get_store(state.uri).get_run(state.run_id).data.tags.get(HISTORY_TAG)
        entries = json.loads(current) if current else []
        if not isinstance(entries, list):
            entries = []
    except (FlowtrackError, ValueError) as exc:
        log.warning("flowtrack: the run's model history could not be read (%s); starting anew", exc)
        entries = []
    entries.append(
        {
            "run_id": state.run_id,
            "artifact_path": target,
            "utc_time_created": manifest.created_at,
            "model_uuid": manifest.model_uuid,
            "flavors": list(manifest.flavors),
        }
    )
    text = json.dumps(entries)
    while len(text) > MAX_TAG_VALUE_LENGTH and len(entries) > 1:
        entries.pop(0)
        text = json.dumps(entries)
    return text


def _register(info: ModelInfo, name: str) -> Any:
    try:
        from flowtrack.registry import register_model
    except ImportError as exc:
        raise FlowtrackError(
            f"the model was logged at {info.model_uri} but not registered as {name!r}: this "
            "flowtrack has no model registry (flowtrack.registry)"
        ) from exc
    return register_model(info.model_uri, name)

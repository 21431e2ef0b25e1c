"""Register a logged model (``runs:/<run_id>/<path>``, a model folder, or ModelInfo from an
upstream task), then give the new version an alias and a stage."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flowtrack_airflow.steps import airflow_ids, bad, failing_as, step_run

STEP = "register_model"  # how errors name the step; the operator gives its class name
# Where a model folder given by path is stored in the task's run before it is registered.
ARTIFACT_PATH = "model"


def _uri_text(model_uri: Any, step: str) -> str:
    """``model_uri`` as text: a string, a path, or what `log_model` returned (its ModelInfo,
    or that as a dict after an XCom round trip)."""
    if isinstance(model_uri, Mapping):
        model_uri = model_uri.get("model_uri") or model_uri.get("uri")
    elif hasattr(model_uri, "model_uri"):
        model_uri = model_uri.model_uri
    if isinstance(model_uri, os.PathLike):
        model_uri = os.fspath(model_uri)
    if not isinstance(model_uri, str) or not model_uri.strip():
        raise bad(
            step,
            "model_uri",
            model_uri,
            "must be runs:/<run_id>/<path> (what flowtrack.models.log_model returns), or the "
            "path of a flowtrack model folder",
        )
    return model_uri.strip()


def _check_options(step: str, name: Any, alias: Any, stage: Any, tags: Any) -> None:
    """Everything about the arguments is checked before anything is written."""
    from flowtrack.registry.validation import validate_alias, validate_model_name, validate_stage

    with failing_as(step):
        validate_model_name(name, "name")
        if alias is not None:
            validate_alias(alias)
        if stage is not None:
            validate_stage(stage)
    if tags is not None and not isinstance(tags, Mapping):
        raise bad(step, "tags", tags, "must be a dict of tag names to values")


def _check_logged(step: str, model_uri: str) -> None:
    """The run exists and has a flowtrack model (its manifest) at the URI's path."""
    import flowtrack
    from flowtrack.models import MANIFEST_NAME
    from flowtrack.registry.sources import parse_runs_uri

    with failing_as(step):
        ref = parse_runs_uri(model_uri, "model_uri")
    client = flowtrack.Client()
    with failing_as(step):  # the store down: an AirflowException, which Airflow may retry
        try:
            client.get_run(ref.run_id)
        except flowtrack.NotFoundError:
            raise bad(step, "model_uri", model_uri, f"run {ref.run_id} does not exist") from None
        listed = {f.path for f in client.list_artifacts(ref.run_id, ref.path or None)}
    if f"{ref.path}/{MANIFEST_NAME}".lstrip("/") not in listed:
        raise bad(
            step,
            "model_uri",
            model_uri,
            f"run {ref.run_id} has no flowtrack model at {ref.path or 'its artifact root'!r} "
            f"(no {MANIFEST_NAME}); log one with flowtrack.models.log_model",
        )


def _model_folder(step: str, model_uri: str) -> Path:
    parts = urlsplit(model_uri)
    if parts.scheme not in ("", "file"):
        raise bad(
            step,
            "model_uri",
            model_uri,
            "must be runs:/<run_id>/<path> or a local model folder; a model elsewhere is "
            "logged to a run first (flowtrack.models.log_model)",
        )
    folder = Path(unquote(parts.path) if parts.scheme == "file" else model_uri).expanduser()
    if not folder.is_dir():
        raise bad(step, "model_uri", model_uri, "is not a runs:/ URI nor an existing folder")
    from flowtrack.models import ModelIntegrityError, ModelManifest

    try:
        ModelManifest.read(folder)
    except ModelIntegrityError as exc:
        raise bad(step, "model_uri", model_uri, f"is not a flowtrack model folder: {exc}") from None
    return folder


def _store_folder(step: str, folder: Path, run_id: str, artifact_uri: str) -> list[str]:
    """Copy a model folder into the run's artifacts under `ARTIFACT_PATH`; the paths written."""
    from flowtrack.tracking.stores import get_artifact_store

    store = get_artifact_store(artifact_uri)
    if store.list(ARTIFACT_PATH):
        raise bad(
            step,
            "model_uri",
            str(folder),
            f"the task's run {run_id} has artifacts at {ARTIFACT_PATH!r} already; register "
            "them with runs:/<run_id>/model, or log the model in another task",
        )
    written: list[str] = store.log_dir(folder, ARTIFACT_PATH)
    return written


def register_model(
    model_uri: Any,
    name: str,
    alias: str | None = None,
    stage: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    *,
    caller: str = STEP,
) -> dict[str, Any]:
    """Register ``model_uri`` as the next version of ``name``; set ``alias`` and ``stage``.

    Returns ``{"name", "version", "model_uri" (models:/name/N), "source", "run_id"}``. The
    version is tagged with the task that registered it (``flowtrack.registered_by_run`` and
    the ``airflow.*`` ids) and the task's run with ``flowtrack.registered_model``."""
    import flowtrack
    from flowtrack.registry.sources import is_runs_uri
    from flowtrack.tracking.log import _artifact_uri
    from flowtrack.tracking.policy import submit

    text = _uri_text(model_uri, caller)
    _check_options(caller, name, alias, stage, tags)
    folder = None
    if is_runs_uri(text):
        _check_logged(caller, text)
    elif text.startswith("models:/"):
        raise bad(caller, "model_uri", text, "is a registered version already; give its source")
    else:
        folder = _model_folder(caller, text)
    with step_run() as state, failing_as(caller):
        source = text
        if folder is not None:
            written = _store_folder(caller, folder, state.run_id, _artifact_uri(state))
            submit(state, [{"op": "artifacts", "run_id": state.run_id, "paths": written}])
            source = f"runs:/{state.run_id}/{ARTIFACT_PATH}"
        links = {**airflow_ids(), "flowtrack.registered_by_run": state.run_id}
        version = flowtrack.register_model(
            source, name, tags={**dict(tags or {}), **links}, description=description
        )
        client = flowtrack.Client()
        if alias is not None:
            client.set_alias(name, alias, version.version)
        if stage is not None:
            client.transition_stage(name, version.version, stage)
        flowtrack.set_tag("flowtrack.registered_model", f"models:/{name}/{version.version}")
    return {
        "name": name,
        "version": version.version,
        "model_uri": f"models:/{name}/{version.version}",
        "source": source,
        "run_id": version.run_id,
    }

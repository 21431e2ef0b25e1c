"""`flowtrack.register_model`: a run's model artifact becomes the next version of a model."""

from __future__ import annotations

import contextlib
from typing import Any

from flowtrack.errors import ConflictError, InvalidInputError
from flowtrack.registry.entities import ModelVersion
from flowtrack.registry.sources import is_runs_uri, parse_runs_uri


def register_model(
    model_uri: str,
    name: str,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Register ``model_uri`` (``runs:/<run_id>/<path>``) as the next version of ``name``,
    creating the registered model if it does not exist yet.

    The new version is linked to its run and to the dataset versions the run read (its
    ``log_input`` calls). What this process has logged is delivered first, so a run still
    open in this process can be registered. ``description`` describes the version.
    """
    from flowtrack.client import Client
    from flowtrack.tracking.runs import flush

    if not isinstance(model_uri, str) or not is_runs_uri(model_uri):
        raise InvalidInputError(
            "model_uri",
            model_uri,
            "must be runs:/<run_id>/<path>, e.g. the uri returned by flowtrack.models.log_model",
        )
    run_id = parse_runs_uri(model_uri, "model_uri").run_id
    # The run, its artifacts' record and its inputs may still be in this process's journal.
    flush()
    client = Client()
    # If it exists (maybe just created by a concurrent registration), add a version to it.
    with contextlib.suppress(ConflictError):
        client.create_registered_model(name)
    return client.create_model_version(
        name, model_uri, run_id=run_id, tags=tags, description=description
    )

"""flowtrack's entities in MLflow's JSON, and artifact locations as ``mlflow-artifacts:`` URIs.

Artifacts: the server keeps run artifacts under ``ServerState.artifacts_destination``; a run's
own ``artifact_uri`` in the store is ``<destination>/<experiment>/<run>/artifacts`` when the
store's artifact root is that destination (as ``flowtrack server`` sets it). The MLflow client
is given the same place as ``mlflow-artifacts:/<experiment>/<run>/artifacts``, which it turns
into ``<tracking URI>/api/2.0/mlflow-artifacts/artifacts/...``, and the proxy in artifacts.py
maps that path back onto the destination: one set of files, seen by both clients. A location
outside the destination (an experiment created with its own ``artifact_location``) is handed
out as it is, and the MLflow client then reads and writes it directly, as with ``mlflow server
--no-serve-artifacts``.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

from flowtrack.entities import Experiment, Metric, Run, RunInfo
from flowtrack.errors import InvalidInputError
from flowtrack.registry.entities import ModelVersion, RegisteredModel
from flowtrack.server.hardening import location_inside, safe_artifact_path
from flowtrack.server.mlflow.request import number

SCHEME = "mlflow-artifacts"
# Tags MLflow keeps for what flowtrack holds in columns; shown to the MLflow client when a run
# made by flowtrack's own API lacks them, because the MLflow UI and client read them.
RUN_NAME_TAG = "mlflow.runName"
PARENT_TAG = "mlflow.parentRunId"
USER_TAG = "mlflow.user"


def _plain(location: str) -> str:
    """A local path or file: URL as an absolute path; anything else unchanged."""
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return os.path.abspath(parsed.path)
    if not parsed.scheme or len(parsed.scheme) == 1:  # a path, or a Windows drive letter
        return os.path.abspath(location)
    return location.rstrip("/")


def to_mlflow_uri(location: str, destination: str) -> str:
    """``<destination>/a/b`` -> ``mlflow-artifacts:/a/b``; other locations unchanged."""
    if not location:
        return location
    root, where = _plain(destination), _plain(location)
    if where == root:
        return f"{SCHEME}:/"
    if where.startswith(root.rstrip("/") + "/"):
        return f"{SCHEME}:/{where[len(root.rstrip('/')) + 1 :]}"
    return location


def from_mlflow_uri(location: str, destination: str) -> str:
    """``mlflow-artifacts:/a/b`` (or ``mlflow-artifacts://host/a/b``) -> ``<destination>/a/b``."""
    parsed = urlparse(location)
    if parsed.scheme != SCHEME:
        return location
    relative = parsed.path.strip("/")
    return f"{destination.rstrip('/')}/{relative}" if relative else destination


def inside_destination(location: str, destination: str) -> str:
    """An experiment's ``artifact_location`` from an MLflow client, as a place inside the
    server's artifact store: ``mlflow-artifacts:/<path>``, or a location within the artifacts
    destination itself. Anything else is refused: a location the server would read and write
    for its API's artifact calls must not be one the client picks (MLflow's CVE class of
    artifact_location tricks)."""
    if urlparse(location).scheme != SCHEME:
        return location_inside(location, destination)
    rest = location[len(SCHEME) + 1 :]
    if rest.startswith("//"):  # mlflow-artifacts://host/path: the host is the server itself
        rest = "/" + rest[2:].partition("/")[2]
    try:
        relative = safe_artifact_path(rest.strip("/"), "artifact_location")
    except InvalidInputError as exc:
        raise InvalidInputError("artifact_location", location, exc.reason) from None
    root = destination.rstrip("/")
    return f"{root}/{relative}" if relative else root


def tags_json(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def experiment_json(experiment: Experiment, destination: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "artifact_location": to_mlflow_uri(experiment.artifact_location, destination),
        "lifecycle_stage": str(experiment.lifecycle_stage),
        "tags": tags_json(experiment.tags),
    }
    if experiment.creation_time is not None:
        out["creation_time"] = experiment.creation_time
    if experiment.last_update_time is not None:
        out["last_update_time"] = experiment.last_update_time
    return out


def run_info_json(info: RunInfo, destination: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "run_uuid": info.run_id,
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "run_name": info.run_name,
        "user_id": info.user_id,
        "status": str(info.status),
        "start_time": info.start_time,
        "artifact_uri": to_mlflow_uri(info.artifact_uri, destination),
        "lifecycle_stage": str(info.lifecycle_stage),
    }
    if info.end_time is not None:
        out["end_time"] = info.end_time
    return out


def run_json(
    run: Run, destination: str, inputs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    tags = dict(run.data.tags)
    tags.setdefault(RUN_NAME_TAG, run.info.run_name)
    if run.info.parent_run_id:
        tags.setdefault(PARENT_TAG, run.info.parent_run_id)
    if run.info.user_id:
        tags.setdefault(USER_TAG, run.info.user_id)
    # The store keeps the latest value of each metric, not its step and time: MLflow's
    # run.data.metrics (a dict of values) is complete; get-history has the full points.
    data = {
        "metrics": [{"key": k, "value": number(v)} for k, v in run.data.metrics.items()],
        "params": tags_json(run.data.params),
        "tags": tags_json(tags),
    }
    out: dict[str, Any] = {"info": run_info_json(run.info, destination), "data": data}
    if inputs:
        out["inputs"] = {"dataset_inputs": inputs}
    return out


def metric_json(metric: Metric) -> dict[str, Any]:
    return {
        "key": metric.key,
        "value": number(metric.value),
        "timestamp": metric.timestamp,
        "step": metric.step,
    }


def model_version_json(version: ModelVersion, destination: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": version.name,
        "version": str(version.version),  # MLflow's versions are strings on the wire
        "creation_timestamp": version.creation_timestamp,
        "last_updated_timestamp": version.last_updated_timestamp,
        "user_id": version.user_id,
        "current_stage": str(version.current_stage),
        "description": version.description or "",
        # A source registered as a place in the destination reads as MLflow's client sent it.
        "source": to_mlflow_uri(version.source, destination),
        "status": str(version.status),
        "tags": tags_json(version.tags),
        "aliases": list(version.aliases),
        "run_link": "",
    }
    if version.run_id:
        out["run_id"] = version.run_id
    if version.status_message:
        out["status_message"] = version.status_message
    return out


def registered_model_json(model: RegisteredModel, destination: str) -> dict[str, Any]:
    return {
        "name": model.name,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
        "description": model.description or "",
        "latest_versions": [model_version_json(v, destination) for v in model.latest_versions],
        "tags": tags_json(model.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in model.aliases.items()],
    }

"""The wire format of the flowtrack REST API: entities to JSON-able dicts and back.

Both sides use it: the server (flowtrack.server) to answer, the REST store to read answers.
JSON has no NaN or infinity, and metric values may be either, so non-finite floats travel as
the strings "NaN", "Infinity" and "-Infinity" (proto3's JSON mapping, which MLflow's API uses
too); every other number is a plain JSON number.

Artifact locations: the server sends the stored location (``artifact_location``,
``artifact_uri``, ``storage_location``: a local path or an s3://... URL on the server's side)
and, beside it, ``artifact_proxy``: the path under ``/api/v1/`` where the server serves those
files. The REST store replaces the location with ``<server>/api/v1/<artifact_proxy>``, so its
callers read and write artifacts through the server and need no credentials for the bucket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from flowtrack.entities import (
    DatasetVersion,
    Experiment,
    FileInfo,
    Metric,
    MetricColumns,
    Run,
    RunData,
    RunInfo,
)
from flowtrack.errors import InvalidInputError
from flowtrack.registry.entities import ModelVersion, RegisteredModel, RegistryEvent, StageChange

API_PREFIX = "/api/v1"

_NONFINITE_OUT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def enc_float(value: float) -> float | str:
    """A float for JSON: non-finite values become "NaN", "Infinity" or "-Infinity"."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def dec_float(value: Any, field: str = "value") -> float:
    """The inverse of `enc_float`; anything that is not a number is refused."""
    kind = type(value)
    if kind is float:
        return float(value)
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            raise InvalidInputError(field, value, "is too large for a 64-bit float") from None
    if kind is str and value in _NONFINITE_OUT:
        return _NONFINITE_OUT[value]
    raise InvalidInputError(field, value, 'must be a number, or "NaN", "Infinity" or "-Infinity"')


def enc_floats(values: Sequence[float]) -> list[float | str]:
    if all(math.isfinite(v) for v in values):
        return list(values)
    return [enc_float(v) for v in values]


# -- experiments and runs ----------------------------------------------------------------------


def experiment_to_dict(e: Experiment, proxy: str | None = None) -> dict[str, Any]:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": e.artifact_location,
        "artifact_proxy": proxy,
        "lifecycle_stage": str(e.lifecycle_stage),
        "tags": e.tags,
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
    }


def experiment_from_dict(d: dict[str, Any], proxy_base: str | None = None) -> Experiment:
    return Experiment(
        experiment_id=str(d["experiment_id"]),
        name=d["name"],
        artifact_location=_located(d["artifact_location"], d.get("artifact_proxy"), proxy_base),
        lifecycle_stage=d.get("lifecycle_stage", "active"),
        tags=d.get("tags") or {},
        creation_time=d.get("creation_time"),
        last_update_time=d.get("last_update_time"),
    )


def run_to_dict(run: Run, proxy: str | None = None) -> dict[str, Any]:
    i, data = run.info, run.data
    metrics = data.metrics
    if not all(math.isfinite(v) for v in metrics.values()):
        metrics = {k: enc_float(v) for k, v in metrics.items()}  # type: ignore[misc]
    return {
        "info": {
            "run_id": i.run_id,
            "experiment_id": i.experiment_id,
            "run_name": i.run_name,
            "status": str(i.status),
            "start_time": i.start_time,
            "end_time": i.end_time,
            "lifecycle_stage": str(i.lifecycle_stage),
            "artifact_uri": i.artifact_uri,
            "artifact_proxy": proxy,
            "parent_run_id": i.parent_run_id,
            "user_id": i.user_id,
            "source_type": str(i.source_type),
            "source_ref": i.source_ref,
        },
        "data": {"params": data.params, "metrics": metrics, "tags": data.tags},
    }


def run_from_dict(d: dict[str, Any], proxy_base: str | None = None) -> Run:
    i, data = d["info"], d["data"]
    info = RunInfo(
        run_id=i["run_id"],
        experiment_id=str(i["experiment_id"]),
        run_name=i["run_name"],
        status=i["status"],
        start_time=i["start_time"],
        end_time=i.get("end_time"),
        lifecycle_stage=i["lifecycle_stage"],
        artifact_uri=_located(i["artifact_uri"], i.get("artifact_proxy"), proxy_base),
        parent_run_id=i.get("parent_run_id"),
        user_id=i.get("user_id") or "",
        source_type=i.get("source_type") or "python",
        source_ref=i.get("source_ref") or {},
    )
    metrics = {k: v if type(v) is float else dec_float(v) for k, v in data["metrics"].items()}
    return Run(info, RunData(params=data["params"], metrics=metrics, tags=data["tags"]))


def _located(location: str, proxy: str | None, proxy_base: str | None) -> str:
    if proxy and proxy_base is not None:
        return f"{proxy_base}{API_PREFIX}/{proxy}"
    return location


# -- metric history: columns, which are smaller and faster than an object per point ----------


def history_to_dict(key: str, points: Sequence[Metric] | MetricColumns) -> dict[str, Any]:
    if not isinstance(points, MetricColumns):
        points = MetricColumns.of(points)
    return {
        "key": key,
        "steps": points.steps,
        "timestamps": points.timestamps,
        "values": enc_floats(points.values),
    }


def history_from_dict(d: dict[str, Any]) -> list[Metric]:
    key = d["key"]
    values = [v if type(v) is float else dec_float(v) for v in d["values"]]
    return [
        Metric(key, v, t, s) for s, t, v in zip(d["steps"], d["timestamps"], values, strict=True)
    ]


# -- lineage and files -------------------------------------------------------------------------

_VERSION_FIELDS = (
    "version_id",
    "name",
    "uri",
    "digest",
    "algorithm",
    "size",
    "file_count",
    "mode",
    "created_by_run_id",
    "created_time",
)


def dataset_to_dict(v: DatasetVersion) -> dict[str, Any]:
    return {f: getattr(v, f) for f in _VERSION_FIELDS}


def dataset_from_dict(d: dict[str, Any]) -> DatasetVersion:
    fields: dict[str, Any] = {f: d.get(f) for f in _VERSION_FIELDS}
    return DatasetVersion(**fields)


def file_to_dict(f: FileInfo) -> dict[str, Any]:
    return {"path": f.path, "is_dir": f.is_dir, "file_size": f.file_size}


def file_from_dict(d: dict[str, Any]) -> FileInfo:
    return FileInfo(d["path"], bool(d["is_dir"]), d.get("file_size"))


# -- registry ----------------------------------------------------------------------------------


def version_to_dict(v: ModelVersion, proxy: str | None = None) -> dict[str, Any]:
    return {
        "name": v.name,
        "version": v.version,
        "creation_timestamp": v.creation_timestamp,
        "last_updated_timestamp": v.last_updated_timestamp,
        "description": v.description,
        "user_id": v.user_id,
        "current_stage": str(v.current_stage),
        "source": v.source,
        "run_id": v.run_id,
        "status": str(v.status),
        "tags": v.tags,
        "aliases": v.aliases,
        "storage_location": v.storage_location,
        "artifact_proxy": proxy,
        "status_message": v.status_message,
    }


def version_from_dict(d: dict[str, Any], proxy_base: str | None = None) -> ModelVersion:
    return ModelVersion(
        name=d["name"],
        version=int(d["version"]),
        creation_timestamp=d["creation_timestamp"],
        last_updated_timestamp=d["last_updated_timestamp"],
        description=d.get("description"),
        user_id=d.get("user_id") or "",
        current_stage=d.get("current_stage") or "None",
        source=d.get("source") or "",
        run_id=d.get("run_id"),
        status=d.get("status") or "READY",
        tags=d.get("tags") or {},
        aliases=list(d.get("aliases") or []),
        storage_location=_located(
            d.get("storage_location") or "", d.get("artifact_proxy"), proxy_base
        ),
        status_message=d.get("status_message"),
    )


def model_to_dict(
    m: RegisteredModel, proxies: dict[int, str | None] | None = None
) -> dict[str, Any]:
    proxies = proxies or {}
    return {
        "name": m.name,
        "creation_timestamp": m.creation_timestamp,
        "last_updated_timestamp": m.last_updated_timestamp,
        "description": m.description,
        "latest_versions": [version_to_dict(v, proxies.get(v.version)) for v in m.latest_versions],
        "tags": m.tags,
        "aliases": m.aliases,
    }


def model_from_dict(d: dict[str, Any], proxy_base: str | None = None) -> RegisteredModel:
    return RegisteredModel(
        name=d["name"],
        creation_timestamp=d["creation_timestamp"],
        last_updated_timestamp=d["last_updated_timestamp"],
        description=d.get("description"),
        latest_versions=[version_from_dict(v, proxy_base) for v in d.get("latest_versions") or []],
        tags=d.get("tags") or {},
        aliases={k: int(v) for k, v in (d.get("aliases") or {}).items()},
    )


def registry_event_to_dict(e: RegistryEvent) -> dict[str, Any]:
    return {
        "event_id": e.event_id,
        "timestamp": e.timestamp,
        "user": e.user,
        "action": str(e.action),
        "name": e.name,
        "version": e.version,
        "detail": e.detail,
    }


def registry_event_from_dict(d: dict[str, Any]) -> RegistryEvent:
    return RegistryEvent(
        event_id=d["event_id"],
        timestamp=d["timestamp"],
        user=d.get("user") or "",
        action=d["action"],
        name=d["name"],
        version=d.get("version"),
        detail=d.get("detail") or {},
    )


def stage_change_to_dict(c: StageChange, proxy: str | None = None) -> dict[str, Any]:
    return {
        "version": version_to_dict(c.version, proxy),
        "old_stage": str(c.old_stage),
        "new_stage": str(c.new_stage),
    }


def stage_change_from_dict(d: dict[str, Any], proxy_base: str | None = None) -> StageChange:
    return StageChange(version_from_dict(d["version"], proxy_base), d["old_stage"], d["new_stage"])


# -- events ------------------------------------------------------------------------------------


def events_to_wire(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events with non-finite metric values spelled as strings (copies only those)."""
    out: list[dict[str, Any]] = []
    for event in events:
        op = event.get("op")
        if op == "metric" and not math.isfinite(event["value"]):
            event = {**event, "value": enc_float(event["value"])}  # noqa: PLW2901 - a copy
        elif op == "metrics" and not all(math.isfinite(v) for v in event["values"].values()):
            values = {k: enc_float(v) for k, v in event["values"].items()}
            event = {**event, "values": values}  # noqa: PLW2901 - a copy
        out.append(event)
    return out

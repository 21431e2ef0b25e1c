"""A Spark application's listener events as flowtrack events, on one run per application.

The run's id comes from the application id and the store (`settings.app_run_id`), so the
driver's own ``flowtrack.log_metric`` calls (see `driver`) and the listener's events meet in one
run whichever arrives first: ``create_run`` of an id the store has is ignored, and tags and
params are sent as their own events so neither side loses them.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowtrack.store.events import Event

from flowtrack_spark import settings

if TYPE_CHECKING:
    from flowtrack_spark.ingest import Progress

log = logging.getLogger("flowtrack.spark")
SOURCE = "spark"
_ERROR_CHARS = 8000
_TAG_CHARS = 5000


def _tag(run_id: str, key: str, value: Any) -> Event:
    return {"op": "tag", "run_id": run_id, "key": key, "value": str(value)[:_TAG_CHARS]}


def run_uri(flowtrack_conf: dict[str, str]) -> str:
    """The store an application's run goes to: spark.flowtrack.trackingUri, else flowtrack's."""
    from flowtrack import config

    explicit = flowtrack_conf.get("trackingUri")
    return settings.check_uri(explicit) if explicit else config.get_tracking_uri()


def translate(item: dict[str, Any], progress: Progress) -> list[Event]:
    """The events one spool line stands for (data versioning happens here too)."""
    kind = item.get("e")
    if "at" in item:
        progress.last_time = int(item["at"])
    if kind == "app_start":
        return _app_start(item, progress)
    if progress.run_id is None:
        return []  # nothing can be recorded before the application's start
    if kind == "stage":
        return [_metrics(progress.run_id, "stage", item, int(item.get("stageId", 0)))]
    if kind == "job":
        if not item.get("succeeded", True):
            progress.error = str(item.get("error") or "job failed")[:_ERROR_CHARS]
        return [_metrics(progress.run_id, "job", item, int(item.get("jobId", 0)))]
    if kind == "sql":
        return _sql(item, progress)
    if kind == "app_end":
        return _app_end(item, progress)
    return []


def _app_start(item: dict[str, Any], progress: Progress) -> list[Event]:
    conf: dict[str, str] = dict(item.get("flowtrack") or {})
    app_id = str(item.get("appId"))
    uri = run_uri(conf)
    run_id = settings.app_run_id(uri, app_id)
    progress.uri, progress.run_id = uri, run_id
    progress.pid = item.get("pid")
    try:
        progress.reference_above = int(conf.get("referenceAbove", progress.reference_above))
    except ValueError:
        log.warning(
            "flowtrack: spark.flowtrack.referenceAbove=%r is not a number of bytes",
            conf.get("referenceAbove"),
        )
    experiment = conf.get("experiment") or os.environ.get("FLOWTRACK_EXPERIMENT") or None
    progress.experiment = experiment
    params: dict[str, str] = dict(item.get("params") or {})
    parent = conf.get("parentRunId") or item.get("envRunId") or None
    if parent == run_id:
        parent = None
    events: list[Event] = [create_run(run_id, app_id, item, experiment, parent)]
    tags = {
        "spark.app_id": app_id,
        "spark.app_name": item.get("name"),
        "spark.version": item.get("sparkVersion"),
        "spark.master": params.get("spark.master"),
        "spark.deploy_mode": params.get("spark.submit.deployMode", "client"),
        "spark.user": item.get("user"),
        "spark.attempt_id": item.get("attemptId"),
    }
    events += [_tag(run_id, k, v) for k, v in tags.items() if v]
    for warning in settings.check_keys({f"spark.flowtrack.{k}": "" for k in conf}) + [
        f"unknown Spark conf key {key} (ignored)" for key in item.get("unknownKeys") or []
    ]:
        events.append(_tag(run_id, "flowtrack.spark.warning", warning))
    events += [{"op": "param", "run_id": run_id, "key": k, "value": v} for k, v in params.items()]
    return events


def create_run(
    run_id: str, app_id: str, item: dict[str, Any], experiment: str | None, parent: str | None
) -> Event:
    from flowtrack.tracking.runs import _user

    conf = item.get("flowtrack") or {}
    return {
        "op": "create_run",
        "run_id": run_id,
        "experiment_id": experiment if experiment and experiment.isdigit() else None,
        "experiment_name": experiment if experiment and not experiment.isdigit() else None,
        "run_name": str(conf.get("runName") or item.get("name") or app_id)[:250],
        "parent_run_id": parent,
        "start_time": int(item.get("time") or item.get("at") or 0),
        "user_id": str(item.get("user") or _user()),
        "source_type": SOURCE,
        "source_ref": {"app_id": app_id, "app_name": item.get("name")},
        "tags": {},
    }


def _metrics(run_id: str, prefix: str, item: dict[str, Any], step: int) -> Event:
    values: dict[str, float] = {
        f"{prefix}.{k}": float(v) for k, v in (item.get("metrics") or {}).items()
    }
    for key, name in (
        ("durationMs", "duration_ms"),
        ("tasks", "tasks"),
        ("failedTasks", "failed_tasks"),
    ):
        if item.get(key) is not None:
            values[f"{prefix}.{name}"] = float(item[key])
    if prefix == "job":
        values["job.succeeded"] = 1.0 if item.get("succeeded", True) else 0.0
    return {
        "op": "metrics",
        "run_id": run_id,
        "values": values,
        "timestamp": int(item.get("at") or 0),
        "step": step,
    }


def _local_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _mode(location: str, reference_above: int) -> str | None:
    from flowtrack.tracking.datasets import _local_path

    local = _local_path(location)
    if local is None:
        return None  # a URL: the core fingerprints it (mode "reference")
    try:
        return "reference" if _local_size(local) > reference_above else "snapshot"
    except OSError:
        return None


def _location(path: str) -> str:
    # Hadoop's s3a:// and s3n:// are fsspec's s3://.
    for scheme in ("s3a://", "s3n://"):
        if path.startswith(scheme):
            return "s3://" + path[len(scheme) :]
    return path


def _sql(item: dict[str, Any], progress: Progress) -> list[Event]:
    """Version the datasets a query read and wrote, as inputs and outputs of the run."""
    import flowtrack
    from flowtrack.tracking import context

    assert progress.run_id is not None and progress.uri is not None
    error = item.get("error")
    if error:
        progress.error = str(error)[:_ERROR_CHARS]
    # The core's versioning writes to the active run: make the application's run active here.
    state = context.RunState(
        run_id=progress.run_id,
        uri=progress.uri,
        experiment_id=None,
        experiment_name=progress.experiment,
        run_name="",
        parent_run_id=None,
        start_time=0,
        artifact_uri=None,
        owned=False,
    )
    described: list[dict[str, Any]] = []
    context.push(state)
    try:
        for direction, key in (("input", "reads"), ("output", "writes")):
            if direction == "output" and error:
                continue  # a failed write holds nothing finished
            for d in item.get(key) or []:
                location = _location(str(d.get("path") or ""))
                if not location:
                    continue
                name = d.get("table") or None
                log_fn = flowtrack.log_input if direction == "input" else flowtrack.log_output
                version = log_fn(
                    location, name=name, mode=_mode(location, progress.reference_above)
                )
                described.append(
                    {
                        "direction": direction,
                        "uri": version.uri if version else location,
                        "version": version.version_id if version else None,
                        "format": d.get("format"),
                        "schema": d.get("schema"),
                        "table": d.get("table"),
                    }
                )
    finally:
        context.pop(state)
    if not described:
        return []
    return [_tag(progress.run_id, f"spark.query.{progress.offset}", json.dumps(described))]


def _app_end(item: dict[str, Any], progress: Progress) -> list[Event]:
    assert progress.run_id is not None
    progress.ended = True
    events: list[Event] = [
        _tag(progress.run_id, "spark.events_dropped", int(item.get("dropped") or 0)),
        _tag(progress.run_id, "spark.events_shipped", int(item.get("shipped") or 0)),
    ]
    if item.get("error"):  # the driver's own uncaught exception, after or outside any job
        progress.error = str(item["error"])[:_ERROR_CHARS]
    status = "FINISHED"
    if progress.error:
        status = "FAILED"
        events.append(_tag(progress.run_id, "flowtrack.error", progress.error))
    end = int(item.get("time") or item.get("at") or 0)
    events.append(
        {"op": "update_run", "run_id": progress.run_id, "status": status, "end_time": end}
    )
    return events


def killed(progress: Progress) -> list[Event]:
    """Close the run of an application whose JVM ended without an end event."""
    if progress.run_id is None:
        return []
    progress.ended = True
    reason = "the Spark application's JVM ended without an application end event"
    return [
        _tag(progress.run_id, "flowtrack.error", progress.error or reason),
        {
            "op": "update_run",
            "run_id": progress.run_id,
            "status": "KILLED",
            "end_time": int(progress.last_time or 0),
        },
    ]


def submit(uri: str, events: list[Event]) -> None:
    from flowtrack.tracking.writer import get_writer

    get_writer(uri).submit(events)


def flush() -> None:
    from flowtrack.tracking.writer import flush_all

    if not flush_all():
        log.warning(
            "flowtrack: the tracking store did not take the Spark events in time; they stay in "
            "the journal and `flowtrack sync` delivers them"
        )


def close() -> None:
    from flowtrack.tracking.writer import close_all

    close_all()

"""The tracking model: experiments, runs, params, metrics and tags.

Names follow MLflow's entities so that habits carry over (`run.info.run_id`, `run.data.metrics`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class RunStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


class LifecycleStage(enum.StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class ViewType(enum.StrEnum):
    ACTIVE_ONLY = "active_only"
    DELETED_ONLY = "deleted_only"
    ALL = "all"


class SourceType(enum.StrEnum):
    """What produced a run."""

    PYTHON = "python"
    AIRFLOW = "airflow"
    PREFECT = "prefect"
    SPARK = "spark"
    K8S = "k8s"
    # Made by a process that logged to a run id it was handed before the run's owner (an
    # orchestrator's adapter) recorded it; the owner's create_run completes it.
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = LifecycleStage.ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0


class MetricColumns(NamedTuple):
    """A metric's history as three parallel lists, sorted by step then timestamp: what the
    server sends and pages through without a `Metric` object per point."""

    steps: list[int]
    timestamps: list[int]
    values: list[float]

    @classmethod
    def of(cls, points: Sequence[Metric]) -> MetricColumns:
        return cls(
            [m.step for m in points], [m.timestamp for m in points], [m.value for m in points]
        )

    def metrics(self, key: str) -> list[Metric]:
        return [
            Metric(key, v, t, s)
            for s, t, v in zip(self.steps, self.timestamps, self.values, strict=True)
        ]

    def page(self, start: int, stop: int) -> MetricColumns:
        return MetricColumns(
            self.steps[start:stop], self.timestamps[start:stop], self.values[start:stop]
        )


@dataclass(frozen=True, slots=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str
    parent_run_id: str | None = None
    user_id: str = ""
    source_type: str = SourceType.PYTHON
    # A reference into the system that produced the run, such as dag_id/run_id/task_id/try.
    source_ref: dict[str, Any] = field(default_factory=dict)

    @property
    def run_uuid(self) -> str:
        """MLflow's old name for `run_id`."""
        return self.run_id


@dataclass(frozen=True, slots=True)
class RunData:
    params: dict[str, str] = field(default_factory=dict)
    # Latest value of each metric, as MLflow's `run.data.metrics`.
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Run:
    info: RunInfo
    data: RunData


@dataclass(frozen=True, slots=True)
class FileInfo:
    """An entry of a run's artifact tree; `path` is relative to the run's artifact root."""

    path: str
    is_dir: bool
    file_size: int | None = None


@dataclass(frozen=True, slots=True)
class PagedList:
    """A page of results and the token that fetches the next one (None on the last page)."""

    items: list[Any]
    token: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One version of a dataset: a content digest at a place (a local path or a URL).

    ``mode`` is "snapshot" (the content was hashed and a copy kept in a cache) or "reference"
    (only a fingerprint of the files' metadata: size and etag, md5, version id or mtime).
    ``created_by_run_id`` is the first run that logged it as an output, if any.
    """

    version_id: str
    name: str
    uri: str
    digest: str
    algorithm: str
    size: int
    file_count: int
    mode: str
    created_by_run_id: str | None
    created_time: int

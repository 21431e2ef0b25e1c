"""Request bodies of the REST API (pydantic models: they are the OpenAPI documentation too).

Only shapes and types are checked here; names, keys, lengths and the rest are checked by the
store, which answers with the field and the value that were wrong (400).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flowtrack.entities import ViewType

# Milliseconds, steps: what a 64-bit column holds.
I64 = Annotated[int, Field(ge=-(2**63), lt=2**63)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        # PostgreSQL refuses NUL in text; refused here, it is a 400 rather than a store fault.
        from flowtrack.server.api.guards import no_nul_in

        no_nul_in(data)
        return data


class ExperimentCreate(_Body):
    name: str
    artifact_location: str | None = Field(
        None,
        description="Where the experiment's artifacts go: a folder or fsspec URL within the "
        "server's artifacts destination (anything else is a 400); default: a new folder there.",
    )
    tags: dict[str, str] = {}


class ExperimentName(_Body):
    name: str


class KeyValue(_Body):
    key: str
    value: str


class ExperimentIds(_Body):
    experiment_ids: list[str]


class RunCreate(_Body):
    experiment_id: str | None = Field(None, description="The experiment; else experiment_name.")
    experiment_name: str | None = Field(
        None, description="Created if it does not exist; 'Default' if neither is given."
    )
    run_id: str | None = Field(None, description="32 lowercase hex characters; made if not given.")
    run_name: str | None = None
    parent_run_id: str | None = None
    start_time: I64 | None = Field(
        None, description="Milliseconds since the epoch; now if not given."
    )
    user_id: str | None = None
    source_type: str | None = Field(None, description="python, airflow, prefect, spark, k8s ...")
    source_ref: dict[str, Any] = {}
    tags: dict[str, str] = {}


class RunUpdate(_Body):
    status: str | None = Field(None, description="RUNNING, FINISHED, FAILED or KILLED")
    end_time: I64 | None = Field(
        None, description="Set when status ends the run; now if not given."
    )
    run_name: str | None = None


class RunIds(_Body):
    run_ids: list[str] = Field(max_length=10_000)


class RunSearch(_Body):
    experiment_ids: list[str]
    filter: str | None = Field(
        None, description="MLflow's grammar, e.g. \"metrics.auc > 0.9 and params.alpha = '0.5'\""
    )
    order_by: list[str] = Field([], description='e.g. ["metrics.auc DESC", "start_time"]')
    view_type: ViewType = ViewType.ACTIVE_ONLY
    max_results: int = Field(1000, ge=1, le=50_000)
    page_token: str | None = None


class MetricPoint(_Body):
    key: str
    value: float | str = Field(description='A number, or "NaN", "Infinity", "-Infinity".')
    timestamp: I64 | None = Field(
        None, description="Milliseconds since the epoch; now if not given."
    )
    step: I64 = 0


class LogBatch(_Body):
    metrics: list[MetricPoint] = []
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class EventBatch(_Body):
    """The write path of flowtrack's own client: a batch of store events (the ops documented
    in flowtrack/store/events.py), applied in order in one transaction."""

    journal_id: str | None = Field(
        None,
        description="The sending journal. With it every event carries an increasing `seq`, and "
        "events at or below the highest seq already applied for the journal are skipped, so "
        "sending a batch again writes it once.",
    )
    events: list[dict[str, Any]]


class DatasetSearch(_Body):
    names_or_uris: list[str] | None = Field(None, description="Versions with these names or uris.")
    digests: list[str] | None = Field(None, description="Versions with these content digests.")


class ModelCreate(_Body):
    name: str
    tags: dict[str, str] = {}
    description: str | None = None


class ModelRename(_Body):
    new_name: str


class Description(_Body):
    description: str | None = None


class VersionCreate(_Body):
    source: str = Field(description="runs:/<run_id>/<path>, or a URI inside run_id's artifacts.")
    run_id: str | None = None
    tags: dict[str, str] = {}
    description: str | None = None


class AliasTarget(_Body):
    version: int | str


class StageTransition(_Body):
    stage: str | None = Field(description="None, Staging, Production or Archived (any case).")
    archive_existing_versions: bool = False


class CommentCreate(_Body):
    body: str = Field(description="Markdown (at most 20,000 characters).")
    reply_to: int | None = Field(
        None,
        ge=1,
        lt=2**53,
        description="The comment this one answers (on the same target); replies join its thread.",
    )


class CommentUpdate(_Body):
    body: str = Field(description="The new markdown text.")


class CommentCounts(_Body):
    target_kind: str = Field(description="run, dataset_version or model_version")
    target_ids: list[str] = Field(
        max_length=10_000, description='Run ids, dataset version ids, or "name/version".'
    )

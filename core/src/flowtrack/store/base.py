"""The store interface. The SQL store implements it; the REST store (server issue) will too."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING

from flowtrack.entities import (
    DatasetVersion,
    Experiment,
    Metric,
    MetricColumns,
    PagedList,
    Run,
    ViewType,
)
from flowtrack.store.events import Event, Rejection

if TYPE_CHECKING:
    from flowtrack.comments import Comment
    from flowtrack.registry.entities import (
        ModelVersion,
        RegisteredModel,
        RegistryEvent,
        StageChange,
    )


class TrackingStore(abc.ABC):
    """Experiments and runs. Reads are synchronous; writes go through `apply_events`.

    The model registry is different: its writes are synchronous and transactional (each change
    and its audit row commit together, or neither does); ``user`` is who made the change.
    Names, aliases, stages and sources are checked by the store, so every client is held to
    the same rules; versions arrive as ints (the client converts MLflow's strings).
    """

    uri: str

    # -- experiments -------------------------------------------------------------------
    @abc.abstractmethod
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str: ...

    @abc.abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment: ...

    @abc.abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    @abc.abstractmethod
    def get_or_create_experiment(self, name: str) -> Experiment: ...

    @abc.abstractmethod
    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        page_token: str | None = None,
        name_like: str | None = None,
    ) -> PagedList: ...

    @abc.abstractmethod
    def delete_experiment(self, experiment_id: str) -> None: ...

    @abc.abstractmethod
    def restore_experiment(self, experiment_id: str) -> None: ...

    @abc.abstractmethod
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...

    @abc.abstractmethod
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def count_runs(self, experiment_ids: Sequence[str]) -> dict[str, int]: ...

    # -- runs ------------------------------------------------------------------------
    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run: ...

    @abc.abstractmethod
    def get_runs(self, run_ids: Sequence[str]) -> list[Run]: ...

    @abc.abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> PagedList: ...

    @abc.abstractmethod
    def get_child_run_ids(self, run_id: str) -> list[str]: ...

    @abc.abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]: ...

    def get_metric_columns(self, run_id: str, key: str) -> MetricColumns:
        """The history as columns, sorted by step then timestamp (the server's read path)."""
        points = sorted(self.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp))
        return MetricColumns.of(points)

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None: ...

    @abc.abstractmethod
    def restore_run(self, run_id: str) -> None: ...

    # -- lineage ---------------------------------------------------------------------
    @abc.abstractmethod
    def get_run_datasets(self, run_id: str, direction: str) -> list[DatasetVersion]:
        """The dataset versions a run logged as ``direction`` ("input" or "output")."""

    @abc.abstractmethod
    def get_dataset_versions(self, names_or_uris: Sequence[str]) -> list[DatasetVersion]:
        """Versions whose name or uri is one of ``names_or_uris``, newest first."""

    @abc.abstractmethod
    def get_dataset_versions_by_digest(self, digests: Sequence[str]) -> list[DatasetVersion]:
        """Versions with one of these content digests, oldest first."""

    @abc.abstractmethod
    def get_dataset_run_ids(self, version_id: str, direction: str) -> list[str]:
        """Active runs that logged the version as ``direction``, in start order."""

    # -- writes ----------------------------------------------------------------------
    @abc.abstractmethod
    def apply_events(
        self, events: Sequence[Event], journal_id: str | None = None
    ) -> list[Rejection]:
        """Write events in order, in one transaction.

        Events that can never be written (unknown or deleted run, a param's second value) are
        returned as rejections and the rest is written. A fault (store down, locked, read-only)
        raises `StoreUnavailableError` and writes nothing. With a `journal_id`, every event
        carries a ``seq`` (increasing within that journal) and events at or below the highest
        seq already written for the journal are skipped: delivery is exactly-once.

        The list returned may be an `Applied`, which also names the dataset versions created.
        """

    # -- model registry: registered models ---------------------------------------------
    @abc.abstractmethod
    def create_registered_model(
        self,
        name: str,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        *,
        user: str = "",
    ) -> RegisteredModel: ...

    @abc.abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel: ...

    @abc.abstractmethod
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList: ...

    @abc.abstractmethod
    def rename_registered_model(
        self, name: str, new_name: str, *, user: str = ""
    ) -> RegisteredModel: ...

    @abc.abstractmethod
    def update_registered_model(
        self, name: str, description: str | None, *, user: str = ""
    ) -> RegisteredModel: ...

    @abc.abstractmethod
    def delete_registered_model(self, name: str, *, user: str = "") -> None:
        """Delete the model, its versions, tags and aliases; its audit events are kept."""

    @abc.abstractmethod
    def set_registered_model_tag(
        self, name: str, key: str, value: str, *, user: str = ""
    ) -> None: ...

    @abc.abstractmethod
    def delete_registered_model_tag(self, name: str, key: str, *, user: str = "") -> None: ...

    # -- model registry: versions ------------------------------------------------------
    @abc.abstractmethod
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        *,
        user: str = "",
    ) -> ModelVersion:
        """Register the next version of ``name`` (numbers are never reused), after checking
        that ``source`` lies inside the run's artifacts, and link the dataset versions the run
        has read."""

    @abc.abstractmethod
    def get_model_version(self, name: str, version: int) -> ModelVersion: ...

    @abc.abstractmethod
    def update_model_version(
        self, name: str, version: int, description: str | None, *, user: str = ""
    ) -> ModelVersion: ...

    @abc.abstractmethod
    def delete_model_version(self, name: str, version: int, *, user: str = "") -> None:
        """Delete the version, its tags and the aliases pointing at it."""

    @abc.abstractmethod
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList: ...

    @abc.abstractmethod
    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The highest version in each of ``stages`` (all stages if None) that has one."""

    @abc.abstractmethod
    def set_registered_model_alias(
        self, name: str, alias: str, version: int, *, user: str = ""
    ) -> None: ...

    @abc.abstractmethod
    def delete_registered_model_alias(self, name: str, alias: str, *, user: str = "") -> None: ...

    @abc.abstractmethod
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    @abc.abstractmethod
    def transition_model_version_stage(
        self,
        name: str,
        version: int,
        stage: str | None,
        archive_existing_versions: bool = False,
        *,
        user: str = "",
    ) -> list[StageChange]:
        """Move a version to ``stage``; with ``archive_existing_versions`` the other versions
        in that stage move to Archived in the same transaction. Returns every change, the
        asked-for version's first."""

    @abc.abstractmethod
    def set_model_version_tag(
        self, name: str, version: int, key: str, value: str, *, user: str = ""
    ) -> None: ...

    @abc.abstractmethod
    def delete_model_version_tag(
        self, name: str, version: int, key: str, *, user: str = ""
    ) -> None: ...

    @abc.abstractmethod
    def get_model_version_datasets(self, name: str, version: int) -> list[DatasetVersion]:
        """The dataset versions the source run had read when the version was registered."""

    @abc.abstractmethod
    def get_registry_events(self, name: str, version: int | None = None) -> list[RegistryEvent]:
        """The audit trail of a model (or of one version), oldest first."""

    # -- discussions (flowtrack/comments.py) ---------------------------------------------
    @abc.abstractmethod
    def add_comment(
        self,
        target_kind: str,
        target_id: str,
        body: str,
        *,
        user: str = "",
        reply_to: int | None = None,
    ) -> Comment:
        """Comment on a run, dataset version or model version ("name/version"); `NotFoundError`
        naming the target if it does not exist (or the comment ``reply_to`` is not on it)."""

    @abc.abstractmethod
    def get_comment(self, comment_id: int) -> Comment: ...

    @abc.abstractmethod
    def list_comments(
        self,
        target_kind: str,
        target_id: str,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> PagedList:
        """The target's comments, oldest first; deleted ones only where replies follow them."""

    @abc.abstractmethod
    def update_comment(self, comment_id: int, body: str) -> Comment: ...

    @abc.abstractmethod
    def delete_comment(self, comment_id: int) -> None:
        """Delete the comment (its row stays, emptied, while replies to it remain)."""

    @abc.abstractmethod
    def count_comments(self, target_kind: str, target_ids: Sequence[str]) -> dict[str, int]:
        """target id -> live comments on it (0 for none or an unknown target)."""

    def close(self) -> None:  # noqa: B027 - optional for stores without resources
        """Release connections."""

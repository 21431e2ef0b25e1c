"""The store interface. The SQL store implements it; the REST store (server issue) will too."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from flowtrack.entities import DatasetVersion, Experiment, Metric, PagedList, Run, ViewType
from flowtrack.store.events import Event, Rejection


class TrackingStore(abc.ABC):
    """Experiments and runs. Reads are synchronous; writes go through `apply_events`."""

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

    def close(self) -> None:  # noqa: B027 - optional for stores without resources
        """Release connections."""

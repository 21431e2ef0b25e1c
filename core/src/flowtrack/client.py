"""`flowtrack.Client`: explicit, synchronous access to the store, with MlflowClient's names.

Unlike the module-level calls, the client raises: a bad argument raises `InvalidInputError`,
an unknown run `NotFoundError`, a refused write `ConflictError`, an unreachable store
`StoreUnavailableError`. Reads first deliver what this process logged, so they see it.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flowtrack import config
from flowtrack.comments_client import CommentsClient
from flowtrack.entities import (
    DatasetVersion,
    Experiment,
    FileInfo,
    Metric,
    PagedList,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from flowtrack.errors import ConflictError, InvalidInputError, NotFoundError
from flowtrack.registry.client import RegistryClient
from flowtrack.store.base import TrackingStore
from flowtrack.store.events import Event
from flowtrack.tracking.stores import get_artifact_store, get_store
from flowtrack.tracking.writer import get_writer
from flowtrack.validation import (
    validate_artifact_path,
    validate_key,
    validate_key_cached,
    validate_metric_value,
    validate_param_value,
    validate_run_name,
    validate_step,
    validate_tag_value,
    validate_timestamp,
)


def _now() -> int:
    return int(time.time() * 1000)


class Client(CommentsClient, RegistryClient):
    """Tracking here; the model registry's methods come from `RegistryClient`, the
    discussions' from `CommentsClient`."""

    def __init__(self, tracking_uri: str | None = None) -> None:
        self.tracking_uri = (
            config.normalize_uri(tracking_uri) if tracking_uri else config.get_tracking_uri()
        )

    @property
    def store(self) -> TrackingStore:
        return get_store(self.tracking_uri)

    def _synced(self) -> TrackingStore:
        get_writer(self.tracking_uri).flush()
        return self.store

    def _write(self, events: list[Event]) -> None:
        get_writer(self.tracking_uri).flush()
        rejections = self.store.apply_events(events)
        if rejections:
            raise ConflictError("; ".join(str(r) for r in rejections))

    # -- experiments -----------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        return self.store.create_experiment(name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        page_token: str | None = None,
        name_like: str | None = None,
    ) -> PagedList:
        return self._synced().search_experiments(
            ViewType(view_type), max_results, page_token, name_like
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self.store.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self.store.restore_experiment(str(experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.store.rename_experiment(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        validate_key("tag key", key)
        self.store.set_experiment_tag(str(experiment_id), key, validate_tag_value(key, value))

    def _experiment_ids(self, experiment: str | int | Sequence[str | int]) -> list[str]:
        items = [experiment] if isinstance(experiment, str | int) else list(experiment)
        ids = []
        for item in items:
            found = self.store.get_experiment_by_name(str(item))
            if found is None and str(item).isdigit():
                ids.append(self.store.get_experiment(str(item)).experiment_id)
            elif found is None:
                raise NotFoundError(
                    "experiment", str(item), "list them with `flowtrack experiments list`"
                )
            else:
                ids.append(found.experiment_id)
        return ids

    # -- runs ------------------------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        return self._synced().get_run(run_id)

    def search_runs(
        self,
        experiment: str | int | Sequence[str | int],
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        filter_string: str | None = None,
    ) -> PagedList:
        """Runs of one or more experiments (names or ids) matching MLflow's filter grammar,
        e.g. ``"metrics.auc > 0.9 and params.alpha = '0.5'"``. Returns a page; its ``token``
        fetches the next one."""
        store = self._synced()
        return store.search_runs(
            self._experiment_ids(experiment),
            filter if filter is not None else filter_string,
            order_by,
            ViewType(view_type),
            max_results,
            page_token,
        )

    def get_children(self, run_id: str) -> list[Run]:
        store = self._synced()
        return store.get_runs(store.get_child_run_ids(run_id))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._synced().get_metric_history(run_id, key)

    def create_run(
        self,
        experiment_id: str,
        run_name: str | None = None,
        tags: dict[str, Any] | None = None,
        start_time: int | None = None,
        parent_run_id: str | None = None,
    ) -> Run:
        from flowtrack.tracking.names import run_name as random_name

        run_id = uuid.uuid4().hex
        experiment = self.store.get_experiment(str(experiment_id))
        self._write(
            [
                {
                    "op": "create_run",
                    "run_id": run_id,
                    "experiment_id": experiment.experiment_id,
                    "run_name": validate_run_name(run_name) if run_name else random_name(),
                    "parent_run_id": parent_run_id,
                    "start_time": _now() if start_time is None else start_time,
                    "tags": {
                        validate_key("tag key", k): validate_tag_value(k, v)
                        for k, v in (tags or {}).items()
                    },
                }
            ]
        )
        return self.store.get_run(run_id)

    def set_terminated(
        self, run_id: str, status: str = RunStatus.FINISHED, end_time: int | None = None
    ) -> None:
        try:
            status = RunStatus(status)
        except ValueError:
            raise InvalidInputError(
                "status", status, "must be FINISHED, FAILED or KILLED"
            ) from None
        self._write(
            [
                {
                    "op": "update_run",
                    "run_id": run_id,
                    "status": str(status),
                    "end_time": end_time or _now(),
                }
            ]
        )

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        event: Event = {"op": "update_run", "run_id": run_id}
        if status is not None:
            event["status"] = str(RunStatus(status))
        if name is not None:
            event["run_name"] = validate_run_name(name)
        self._write([event])

    def delete_run(self, run_id: str) -> None:
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.store.restore_run(run_id)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
    ) -> None:
        when = _now() if timestamp is None else timestamp
        self.log_batch(run_id, metrics=[Metric(key, value, when, 0 if step is None else step)])

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        self.log_batch(run_id, params=[Param(key, str(value))])
        return value

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, tags=[RunTag(key, str(value))])

    def delete_tag(self, run_id: str, key: str) -> None:
        self._write([{"op": "delete_tag", "run_id": run_id, "key": validate_key("tag key", key)}])

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Write metrics, params and tags of a run in one transaction; all or nothing."""
        events: list[Event] = []
        for p in params:
            key = validate_key("param key", p.key)
            events.append(
                {
                    "op": "param",
                    "run_id": run_id,
                    "key": key,
                    "value": validate_param_value(key, p.value),
                }
            )
        for t in tags:
            key = validate_key("tag key", t.key)
            events.append(
                {
                    "op": "tag",
                    "run_id": run_id,
                    "key": key,
                    "value": validate_tag_value(key, t.value),
                }
            )
        for m in metrics:
            key = validate_key_cached("metric key", m.key)
            events.append(
                {
                    "op": "metric",
                    "run_id": run_id,
                    "key": key,
                    "value": validate_metric_value(key, m.value),
                    "timestamp": validate_timestamp(key, m.timestamp),
                    "step": validate_step(key, m.step),
                }
            )
        self._write(events)

    # -- artifacts -------------------------------------------------------------------
    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        run = self.get_run(run_id)
        return get_artifact_store(run.info.artifact_uri).list(validate_artifact_path(path))

    def download_artifacts(
        self, run_id: str, path: str = "", dst_path: str | Path | None = None
    ) -> str:
        """Copy an artifact file or folder ("" for all) to ``dst_path`` (a new temp folder if
        not given); return the local path."""
        run = self.get_run(run_id)
        dst = Path(dst_path) if dst_path else Path(tempfile.mkdtemp(prefix="flowtrack-"))
        store = get_artifact_store(run.info.artifact_uri)
        return str(store.download(validate_artifact_path(path), dst))

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> None:
        run = self.get_run(run_id)
        path = Path(local_path)
        store = get_artifact_store(run.info.artifact_uri)
        target = validate_artifact_path(artifact_path)
        if path.is_dir():
            store.log_dir(path, f"{target}/{path.name}".lstrip("/"))
        elif path.is_file():
            store.log_file(path, target)
        else:
            raise InvalidInputError("local_path", str(local_path), "does not exist")

    # -- lineage ---------------------------------------------------------------------
    def get_run_inputs(self, run_id: str) -> list[DatasetVersion]:
        """The dataset versions the run logged with `flowtrack.log_input`."""
        return self._synced().get_run_datasets(run_id, "input")

    def get_run_outputs(self, run_id: str) -> list[DatasetVersion]:
        """The dataset versions the run logged with `flowtrack.log_output`."""
        return self._synced().get_run_datasets(run_id, "output")

    def get_dataset_versions(self, name_or_uri: str | os.PathLike[str]) -> list[DatasetVersion]:
        """Versions with this name, or at this uri (a local path is made absolute), newest
        first."""
        from flowtrack.tracking.datasets import uri_of

        keys = list(dict.fromkeys([str(name_or_uri), uri_of(name_or_uri)]))
        return self._synced().get_dataset_versions(keys)

    def get_runs_reading(self, version_id: str) -> list[Run]:
        """The runs (not deleted) that logged the version as an input, in start order."""
        store = self._synced()
        return store.get_runs(store.get_dataset_run_ids(version_id, "input"))

    def get_producer(self, path_or_uri: str | os.PathLike[str]) -> Run | None:
        """The run that wrote this file, folder or URL as it is now, or None.

        The data is hashed (nothing is stored) and fingerprinted, and the versions with those
        digests are looked up; a version at this very uri is preferred over the same content
        logged elsewhere, then the oldest. Its creator is the first run that logged it as an
        output.
        """
        from flowtrack.tracking.datasets import digests_of

        uri, digests = digests_of(path_or_uri)
        store = self._synced()
        made = [v for v in store.get_dataset_versions_by_digest(digests) if v.created_by_run_id]
        if not made:
            return None
        chosen = next((v for v in made if v.uri == uri), made[0])
        runs = store.get_runs([chosen.created_by_run_id or ""])
        return runs[0] if runs else None

"""The REST store: the `TrackingStore` interface over a flowtrack server's REST API.

Selected by ``http://`` and ``https://`` tracking URIs (plugin ``rest_store``). Writes arrive
as the same event batches the SQL store takes: the writer's batch is one POST to
``/api/v1/events`` with its journal id, so the server's store applies it exactly once however
often a retry or a replay sends it. Registry calls are in `RestRegistry` (registry.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import orjson

from flowtrack.entities import DatasetVersion, Experiment, Metric, PagedList, Run, ViewType
from flowtrack.errors import NotFoundError
from flowtrack.store.events import Applied, Event, Rejection
from flowtrack.store.rest import codec
from flowtrack.store.rest.comments import RestComments
from flowtrack.store.rest.http import HttpClient, client_for
from flowtrack.store.rest.registry import RestRegistry

V1 = codec.API_PREFIX
# Largest event batch sent as one request; a server takes JSON bodies up to 16 MiB by default.
MAX_BODY_BYTES = 8 << 20
# Runs per request of `get_runs`, and metric points per page of a history.
_RUNS_CHUNK = 1000
_HISTORY_PAGE = 500_000


def _q(segment: str) -> str:
    return quote(segment, safe="")


class RestStore(RestComments, RestRegistry):
    def __init__(self, uri: str) -> None:
        self.http: HttpClient = client_for(uri)
        self.uri = uri
        # Where artifact URIs point: the server's artifact proxy, reached like this store.
        self.proxy_base = self.http.base

    def close(self) -> None:
        self.http.close()

    def _experiment(self, d: dict[str, Any]) -> Experiment:
        return codec.experiment_from_dict(d, self.proxy_base)

    def _run(self, d: dict[str, Any]) -> Run:
        return codec.run_from_dict(d, self.proxy_base)

    # -- experiments -----------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        body = {"name": name, "artifact_location": artifact_location, "tags": tags or {}}
        return str(self.http.call("POST", f"{V1}/experiments", body=body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._experiment(self.http.call("GET", f"{V1}/experiments/{_q(str(experiment_id))}"))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            found = self.http.call("GET", f"{V1}/experiments/by-name", params={"name": name})
        except NotFoundError as exc:
            if getattr(exc, "kind", None) == "experiment":
                return None
            raise
        return self._experiment(found)

    def get_or_create_experiment(self, name: str) -> Experiment:
        # Idempotent by name, so it may be retried like a read.
        found = self.http.call(
            "POST", f"{V1}/experiments/get-or-create", body={"name": name}, idempotent=True
        )
        return self._experiment(found)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        page_token: str | None = None,
        name_like: str | None = None,
    ) -> PagedList:
        params = {"view_type": str(ViewType(view_type)), "max_results": max_results}
        if page_token:
            params["page_token"] = page_token
        if name_like:
            params["name_like"] = name_like
        page = self.http.call("GET", f"{V1}/experiments", params=params)
        return PagedList(
            [self._experiment(e) for e in page["experiments"]], page.get("next_page_token")
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self.http.call("DELETE", f"{V1}/experiments/{_q(str(experiment_id))}")

    def restore_experiment(self, experiment_id: str) -> None:
        self.http.call(
            "POST", f"{V1}/experiments/{_q(str(experiment_id))}/restore", idempotent=True
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.http.call(
            "PATCH",
            f"{V1}/experiments/{_q(str(experiment_id))}",
            body={"name": new_name},
            idempotent=True,
        )

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self.http.call(
            "POST",
            f"{V1}/experiments/{_q(str(experiment_id))}/tags",
            body={"key": key, "value": value},
            idempotent=True,
        )

    def count_runs(self, experiment_ids: Sequence[str]) -> dict[str, int]:
        answer = self.http.call(
            "POST",
            f"{V1}/experiments/run-counts",
            body={"experiment_ids": [str(e) for e in experiment_ids]},
            idempotent=True,
        )
        return {str(k): int(v) for k, v in answer["counts"].items()}

    # -- runs ------------------------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        return self._run(self.http.call("GET", f"{V1}/runs/{_q(run_id)}"))

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        ids = list(run_ids)
        out: list[Run] = []
        for start in range(0, len(ids), _RUNS_CHUNK):
            answer = self.http.call(
                "POST",
                f"{V1}/runs/get",
                body={"run_ids": ids[start : start + _RUNS_CHUNK]},
                idempotent=True,
            )
            out.extend(self._run(r) for r in answer["runs"])
        return out

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> PagedList:
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string,
            "order_by": list(order_by or []),
            "view_type": str(ViewType(view_type)),
            "max_results": max_results,
            "page_token": page_token,
        }
        page = self.http.call("POST", f"{V1}/runs/search", body=body, idempotent=True)
        return PagedList([self._run(r) for r in page["runs"]], page.get("next_page_token"))

    def get_child_run_ids(self, run_id: str) -> list[str]:
        answer = self.http.call("GET", f"{V1}/runs/{_q(run_id)}/children")
        return list(answer["run_ids"])

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        points: list[Metric] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"key": key, "max_results": _HISTORY_PAGE}
            if token:
                params["page_token"] = token
            page = self.http.call("GET", f"{V1}/runs/{_q(run_id)}/metrics/history", params=params)
            points.extend(codec.history_from_dict(page))
            token = page.get("next_page_token")
            if not token:
                return points

    def get_metric_history_downsampled(
        self, run_id: str, key: str, max_points: int
    ) -> list[Metric]:
        """At most about ``max_points`` points for a chart (see docs/server.md: first and last
        point, and the minimum and maximum of each bucket of steps)."""
        page = self.http.call(
            "GET",
            f"{V1}/runs/{_q(run_id)}/metrics/history",
            params={"key": key, "max_points": max_points},
        )
        return codec.history_from_dict(page)

    def delete_run(self, run_id: str) -> None:
        self.http.call("DELETE", f"{V1}/runs/{_q(run_id)}")

    def restore_run(self, run_id: str) -> None:
        self.http.call("POST", f"{V1}/runs/{_q(run_id)}/restore", idempotent=True)

    # -- lineage ---------------------------------------------------------------------
    def get_run_datasets(self, run_id: str, direction: str) -> list[DatasetVersion]:
        answer = self.http.call(
            "GET", f"{V1}/runs/{_q(run_id)}/datasets", params={"direction": direction}
        )
        return [codec.dataset_from_dict(v) for v in answer["versions"]]

    def get_dataset_versions(self, names_or_uris: Sequence[str]) -> list[DatasetVersion]:
        answer = self.http.call(
            "POST",
            f"{V1}/dataset-versions/search",
            body={"names_or_uris": list(names_or_uris)},
            idempotent=True,
        )
        return [codec.dataset_from_dict(v) for v in answer["versions"]]

    def get_dataset_versions_by_digest(self, digests: Sequence[str]) -> list[DatasetVersion]:
        answer = self.http.call(
            "POST",
            f"{V1}/dataset-versions/search",
            body={"digests": list(digests)},
            idempotent=True,
        )
        return [codec.dataset_from_dict(v) for v in answer["versions"]]

    def get_dataset_run_ids(self, version_id: str, direction: str) -> list[str]:
        answer = self.http.call(
            "GET",
            f"{V1}/dataset-versions/{_q(version_id)}/runs",
            params={"direction": direction},
        )
        return list(answer["run_ids"])

    # -- writes ----------------------------------------------------------------------
    def apply_events(
        self, events: Sequence[Event], journal_id: str | None = None
    ) -> list[Rejection]:
        if not events:
            return Applied()
        wire = codec.events_to_wire(events)
        body = orjson.dumps({"journal_id": journal_id, "events": wire})
        if len(body) > MAX_BODY_BYTES and len(events) > 1:
            # Above what a server takes in one JSON body: the halves, in order (with a journal
            # id the server's applied sequence number simply advances twice).
            half = len(events) // 2
            first = self.apply_events(events[:half], journal_id)
            second = self.apply_events(events[half:], journal_id)
            return Applied(
                [*first, *second],
                getattr(first, "new_versions", frozenset())
                | getattr(second, "new_versions", frozenset()),
            )
        # With a journal id the server's store skips what it already applied, so a batch
        # whose answer was lost may be sent again.
        answer = self.http.call(
            "POST",
            f"{V1}/events",
            data=body,
            headers={"Content-Type": "application/json"},
            idempotent=journal_id is not None,
        )
        rejections = [Rejection(events[r["index"]], r["reason"]) for r in answer["rejections"]]
        return Applied(rejections, answer.get("new_versions") or ())

"""The model registry of the REST store, mixed into `RestStore`.

Registry writes are synchronous on the server (one transaction each), so they go straight to
the API rather than through the journal. ``user`` travels in the ``Flowtrack-User`` header;
a server with authentication on records the authenticated user instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from flowtrack.entities import DatasetVersion, PagedList
from flowtrack.errors import NotFoundError
from flowtrack.registry.entities import ModelVersion, RegisteredModel, RegistryEvent, StageChange
from flowtrack.registry.validation import validate_alias, validate_model_name
from flowtrack.store.base import TrackingStore
from flowtrack.store.rest import codec
from flowtrack.store.rest.http import USER_HEADER

if TYPE_CHECKING:
    from flowtrack.store.rest.http import HttpClient

V1 = codec.API_PREFIX

# A proxied artifact URI of a run: .../api/v1/experiments/<id>/artifacts/<run>/artifacts/<path>
# or .../api/v1/runs/<run>/artifacts/<path>.
_PROXIED_RUN_PATH = re.compile(
    r"(?:experiments/[^/]+/artifacts/(?P<a>[0-9a-f]{32})|runs/(?P<b>[0-9a-f]{32}))"
    r"/artifacts(?:/(?P<path>.*))?"
)


def _q(segment: str) -> str:
    return quote(segment, safe="")


def _who(user: str) -> dict[str, str]:
    # Headers are latin-1; a user name outside it travels percent-encoded.
    return {USER_HEADER: quote(user, safe="")} if user else {}


class RestRegistry(TrackingStore):
    http: HttpClient
    proxy_base: str

    def _model(self, d: dict[str, Any]) -> RegisteredModel:
        return codec.model_from_dict(d, self.proxy_base)

    def _version(self, d: dict[str, Any]) -> ModelVersion:
        return codec.version_from_dict(d, self.proxy_base)

    def _m(self, name: str) -> str:
        # A name that cannot be one path segment cannot be a model's (names refuse '/').
        if not isinstance(name, str) or not name or "/" in name:
            raise NotFoundError("registered model", str(name))
        return f"{V1}/registered-models/{_q(name)}"

    def _a(self, name: str, alias: str) -> str:
        if not isinstance(alias, str) or not alias or "/" in alias:
            raise NotFoundError("alias", str(alias))
        return f"{self._m(name)}/aliases/{_q(alias)}"

    def _v(self, name: str, version: int) -> str:
        return f"{self._m(name)}/versions/{int(version)}"

    # -- registered models -----------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        *,
        user: str = "",
    ) -> RegisteredModel:
        # Checked here too: a name that is not a string or not one path segment would
        # otherwise fail as a request error rather than naming the field.
        validate_model_name(name)
        body = {"name": name, "tags": _str_tags(tags), "description": description}
        return self._model(
            self.http.call("POST", f"{V1}/registered-models", body=body, headers=_who(user))
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._model(self.http.call("GET", self._m(name)))

    def _search(
        self,
        path: str,
        filter_string: str | None,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
    ) -> dict[str, Any]:
        params: list[tuple[str, Any]] = [("max_results", max_results)]
        if filter_string:
            params.append(("filter", filter_string))
        params += [("order_by", o) for o in order_by or []]
        if page_token:
            params.append(("page_token", page_token))
        answer: dict[str, Any] = self.http.call("GET", path, params=params)
        return answer

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        page = self._search(
            f"{V1}/registered-models", filter_string, max_results, order_by, page_token
        )
        return PagedList(
            [self._model(m) for m in page["registered_models"]], page.get("next_page_token")
        )

    def rename_registered_model(
        self, name: str, new_name: str, *, user: str = ""
    ) -> RegisteredModel:
        return self._model(
            self.http.call(
                "POST", f"{self._m(name)}/rename", body={"new_name": new_name}, headers=_who(user)
            )
        )

    def update_registered_model(
        self, name: str, description: str | None, *, user: str = ""
    ) -> RegisteredModel:
        return self._model(
            self.http.call(
                "PATCH",
                self._m(name),
                body={"description": description},
                headers=_who(user),
                idempotent=True,
            )
        )

    def delete_registered_model(self, name: str, *, user: str = "") -> None:
        self.http.call("DELETE", self._m(name), headers=_who(user))

    def set_registered_model_tag(self, name: str, key: str, value: str, *, user: str = "") -> None:
        self.http.call(
            "POST",
            f"{self._m(name)}/tags",
            body={"key": key, "value": str(value)},
            headers=_who(user),
            idempotent=True,
        )

    def delete_registered_model_tag(self, name: str, key: str, *, user: str = "") -> None:
        self.http.call("DELETE", f"{self._m(name)}/tags", params={"key": key}, headers=_who(user))

    # -- versions --------------------------------------------------------------------
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
        body = {
            "source": self._server_side_source(source, run_id),
            "run_id": run_id,
            "tags": _str_tags(tags),
            "description": description,
        }
        return self._version(
            self.http.call("POST", f"{self._m(name)}/versions", body=body, headers=_who(user))
        )

    def _server_side_source(self, source: str, run_id: str | None) -> str:
        """A proxied artifact URI of this server (what ``get_artifact_uri()`` returns on a REST
        store) as the ``runs:/`` URI it stands for, which the server can check and resolve."""
        prefix = f"{self.proxy_base}{V1}/"
        if not isinstance(source, str) or not source.startswith(prefix):
            return source
        found = _PROXIED_RUN_PATH.fullmatch(source[len(prefix) :])
        if found is None:
            return source
        owner = found.group("a") or found.group("b")
        if run_id is not None and run_id != owner:
            return source  # the server refuses it, naming both
        return f"runs:/{owner}/{unquote(found.group('path') or '')}".rstrip("/")

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return self._version(self.http.call("GET", self._v(name, version)))

    def update_model_version(
        self, name: str, version: int, description: str | None, *, user: str = ""
    ) -> ModelVersion:
        return self._version(
            self.http.call(
                "PATCH",
                self._v(name, version),
                body={"description": description},
                headers=_who(user),
                idempotent=True,
            )
        )

    def delete_model_version(self, name: str, version: int, *, user: str = "") -> None:
        self.http.call("DELETE", self._v(name, version), headers=_who(user))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        page = self._search(
            f"{V1}/model-versions", filter_string, max_results, order_by, page_token
        )
        return PagedList(
            [self._version(v) for v in page["model_versions"]], page.get("next_page_token")
        )

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        # No stages (None or empty) means every stage, as in the SQL store.
        params = [("stage", "None" if s is None else str(s)) for s in stages or []]
        answer = self.http.call("GET", f"{self._m(name)}/latest-versions", params=params)
        return [self._version(v) for v in answer["model_versions"]]

    # -- aliases ---------------------------------------------------------------------
    def set_registered_model_alias(
        self, name: str, alias: str, version: int, *, user: str = ""
    ) -> None:
        validate_alias(alias)
        self.http.call(
            "PUT",
            self._a(name, alias),
            body={"version": int(version)},
            headers=_who(user),
        )

    def delete_registered_model_alias(self, name: str, alias: str, *, user: str = "") -> None:
        self.http.call("DELETE", self._a(name, alias), headers=_who(user))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._version(self.http.call("GET", self._a(name, alias)))

    # -- stages and tags -------------------------------------------------------------
    def transition_model_version_stage(
        self,
        name: str,
        version: int,
        stage: str | None,
        archive_existing_versions: bool = False,
        *,
        user: str = "",
    ) -> list[StageChange]:
        answer = self.http.call(
            "POST",
            f"{self._v(name, version)}/stage",
            body={"stage": stage, "archive_existing_versions": archive_existing_versions},
            headers=_who(user),
        )
        return [codec.stage_change_from_dict(c, self.proxy_base) for c in answer["changes"]]

    def set_model_version_tag(
        self, name: str, version: int, key: str, value: str, *, user: str = ""
    ) -> None:
        self.http.call(
            "POST",
            f"{self._v(name, version)}/tags",
            body={"key": key, "value": str(value)},
            headers=_who(user),
            idempotent=True,
        )

    def delete_model_version_tag(
        self, name: str, version: int, key: str, *, user: str = ""
    ) -> None:
        self.http.call(
            "DELETE", f"{self._v(name, version)}/tags", params={"key": key}, headers=_who(user)
        )

    def get_model_version_datasets(self, name: str, version: int) -> list[DatasetVersion]:
        answer = self.http.call("GET", f"{self._v(name, version)}/datasets")
        return [codec.dataset_from_dict(v) for v in answer["versions"]]

    def get_registry_events(self, name: str, version: int | None = None) -> list[RegistryEvent]:
        params = {"version": int(version)} if version is not None else None
        answer = self.http.call("GET", f"{self._m(name)}/history", params=params)
        return [codec.registry_event_from_dict(e) for e in answer["events"]]


def _str_tags(tags: dict[str, Any] | None) -> dict[str, Any]:
    # Keys are checked by the server's store; values are strings there, as in the SQL store.
    return {k: v if isinstance(v, str) else str(v) for k, v in (tags or {}).items()}

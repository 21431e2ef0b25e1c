"""The registry half of `flowtrack.Client`, with MlflowClient's names (Client inherits it).

Writes are synchronous: when a call returns, the change and its audit event are committed,
and the notification hooks (``flowtrack_model_version_created``, ``flowtrack_model_alias_set``,
``flowtrack_model_stage_changed``) have run. Versions are ints; MLflow's strings ("3") are
accepted everywhere. The shorter `set_alias`, `delete_alias` and `transition_stage` are the
same calls as MLflow's long names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowtrack.entities import DatasetVersion, PagedList
from flowtrack.plugins import facade
from flowtrack.registry.audit import current_user
from flowtrack.registry.entities import ModelVersion, RegisteredModel, RegistryEvent
from flowtrack.registry.validation import validate_version
from flowtrack.store.base import TrackingStore
from flowtrack.tracking.stores import get_store
from flowtrack.tracking.writer import get_writer


class RegistryClient:
    tracking_uri: str

    def _registry(self) -> TrackingStore:
        return get_store(self.tracking_uri)

    # -- registered models -----------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """A new registered model; `ConflictError` if the name is taken."""
        return self._registry().create_registered_model(
            name, tags, description, user=current_user()
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._registry().get_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Registered models matching e.g. ``"name LIKE 'churn%'"`` or ``"tags.team = 'x'"``,
        by name unless ``order_by`` says otherwise (``["last_updated_timestamp DESC"]``)."""
        return self._registry().search_registered_models(
            filter_string, max_results, order_by, page_token
        )

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Versions, aliases, tags and history follow the model to its new name."""
        return self._registry().rename_registered_model(name, new_name, user=current_user())

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        return self._registry().update_registered_model(name, description, user=current_user())

    def delete_registered_model(self, name: str) -> None:
        """Delete the model with its versions, tags and aliases; the history is kept."""
        self._registry().delete_registered_model(name, user=current_user())

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self._registry().set_registered_model_tag(name, key, value, user=current_user())

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._registry().delete_registered_model_tag(name, key, user=current_user())

    # -- versions --------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """Register the next version of an existing model from a run's artifact.

        ``source`` is ``runs:/<run_id>/<path>`` or, with ``run_id``, a URI inside that run's
        artifact location; anything else is refused (docs/registry.md). The dataset versions
        the run read are linked to the new version.
        """
        # The run and its inputs may still be in this process's journal.
        get_writer(self.tracking_uri).flush()
        version = self._registry().create_model_version(
            name, source, run_id, tags, description, user=current_user()
        )
        facade.model_version_created(version)
        return version

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self._registry().get_model_version(name, validate_version(version))

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        return self._registry().update_model_version(
            name, validate_version(version), description, user=current_user()
        )

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version (its number is not reused) and the aliases pointing at it."""
        self._registry().delete_model_version(name, validate_version(version), user=current_user())

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Versions matching e.g. ``"name = 'churn'"``, ``"run_id = '<id>'"`` or
        ``"current_stage = 'Production'"``; by name, then newest version first."""
        return self._registry().search_model_versions(
            filter_string, max_results, order_by, page_token
        )

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The highest version in each stage (of ``stages`` if given) that has one."""
        return self._registry().get_latest_versions(name, stages)

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """The artifact URI of the version's model directory."""
        return self.get_model_version(name, version).storage_location

    # -- aliases ---------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at ``version`` (moving it if it pointed elsewhere)."""
        number = validate_version(version)
        self._registry().set_registered_model_alias(name, alias, number, user=current_user())
        facade.model_alias_set(name, alias, number)

    def set_alias(self, name: str, alias: str, version: int | str) -> None:
        """`set_registered_model_alias`."""
        self.set_registered_model_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._registry().delete_registered_model_alias(name, alias, user=current_user())

    def delete_alias(self, name: str, alias: str) -> None:
        """`delete_registered_model_alias`."""
        self.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._registry().get_model_version_by_alias(name, alias)

    # -- stages and tags -------------------------------------------------------------
    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str | None,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        """Move a version to None, Staging, Production or Archived (any case); with
        ``archive_existing_versions`` the versions already in that stage move to Archived in
        the same transaction."""
        number = validate_version(version)
        changes = self._registry().transition_model_version_stage(
            name, number, stage, archive_existing_versions, user=current_user()
        )
        for change in changes:
            facade.model_stage_changed(change.version, change.old_stage, change.new_stage)
        return changes[0].version

    def transition_stage(
        self, name: str, version: int | str, stage: str | None, archive_existing: bool = False
    ) -> ModelVersion:
        """`transition_model_version_stage`."""
        return self.transition_model_version_stage(name, version, stage, archive_existing)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self._registry().set_model_version_tag(
            name, validate_version(version), key, value, user=current_user()
        )

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self._registry().delete_model_version_tag(
            name, validate_version(version), key, user=current_user()
        )

    # -- lineage and history ---------------------------------------------------------
    def get_model_version_inputs(self, name: str, version: int | str) -> list[DatasetVersion]:
        """The dataset versions the source run had read when the version was registered."""
        return self._registry().get_model_version_datasets(name, validate_version(version))

    def get_registry_history(
        self, name: str, version: int | str | None = None
    ) -> list[RegistryEvent]:
        """The audit trail of a model (or one version), oldest first: who changed what, when.
        A deleted model's history stays readable under its last name."""
        number = None if version is None else validate_version(version)
        return self._registry().get_registry_events(name, number)

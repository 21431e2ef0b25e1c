"""The registry model: registered models, their versions, and the audit trail of changes.

Attribute names follow MLflow's entities so that habits carry over (`mv.current_stage`,
`rm.latest_versions`). One difference: `ModelVersion.version` is an int here (MLflow uses a
str); every flowtrack call accepts either.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Stage(enum.StrEnum):
    """The stages of a model version, in MLflow's spelling (input is case-insensitive)."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"


class ModelVersionStatus(enum.StrEnum):
    # Registration is synchronous, so a version is READY as soon as it exists; the other
    # statuses are MLflow's, kept so that code comparing against them still reads right.
    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"


class RegistryAction(enum.StrEnum):
    """What a `RegistryEvent` records. ``version`` on the event says whether the change was to
    the registered model (None) or to one of its versions."""

    CREATE_MODEL = "create_model"
    CREATE_VERSION = "create_version"
    RENAME = "rename"
    UPDATE_DESCRIPTION = "update_description"
    SET_TAG = "set_tag"
    DELETE_TAG = "delete_tag"
    SET_ALIAS = "set_alias"
    DELETE_ALIAS = "delete_alias"
    TRANSITION_STAGE = "transition_stage"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class ModelVersion:
    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    user_id: str = ""
    current_stage: str = Stage.NONE
    # As given at registration, e.g. "runs:/<run_id>/model".
    source: str = ""
    run_id: str | None = None
    status: str = ModelVersionStatus.READY
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    # `source` resolved to the artifact URI of the model directory at registration time.
    storage_location: str = ""
    status_message: str | None = None


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    # The highest version in each stage that has one, in stage order (None, Staging,
    # Production, Archived), as MLflow's `latest_versions`.
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    # alias -> version number
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RegistryEvent:
    """One change in the registry: who made it, when, and what changed.

    ``detail`` holds the values involved, e.g. ``{"old": "Staging", "new": "Production"}`` for
    a stage transition or ``{"alias": "champion", "old": 1, "new": 2}`` for an alias move.
    Events are kept when the model is deleted, so its history can still be read.
    """

    event_id: int
    timestamp: int
    user: str
    action: str
    name: str
    version: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StageChange:
    """A version that moved from ``old_stage`` to ``new_stage`` in one transition (the version
    asked for, and the versions archived with ``archive_existing``)."""

    version: ModelVersion
    old_stage: str
    new_stage: str

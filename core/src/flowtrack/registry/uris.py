"""``models:/`` URIs: which registered model version they name, and where its files are.

* ``models:/<name>/<version>``: that version, e.g. ``models:/churn/3``;
* ``models:/<name>@<alias>``: the version the alias points at, e.g. ``models:/churn@champion``;
* ``models:/<name>/<stage>``: the highest version in that stage (any case), e.g.
  ``models:/churn/Production``;
* ``models:/<name>/latest``: the highest version of the model, whatever its stage.
"""

from __future__ import annotations

from typing import NamedTuple

from flowtrack.errors import InvalidInputError, NotFoundError
from flowtrack.registry.entities import ModelVersion, Stage
from flowtrack.registry.validation import validate_model_name

PREFIX = "models:/"
_FORMS = (
    "models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/<stage> "
    "or models:/<name>/latest"
)


class ModelRef(NamedTuple):
    """What a ``models:/`` URI names: exactly one of version, alias, stage or latest."""

    name: str
    version: int | None = None
    alias: str | None = None
    stage: Stage | None = None
    latest: bool = False


def parse_model_uri(uri: str) -> ModelRef:
    if not isinstance(uri, str) or not uri.startswith(PREFIX):
        raise InvalidInputError("model URI", uri, f"must be one of {_FORMS}")
    rest = uri[len(PREFIX) :]
    if "/" in rest:
        name, _, selector = rest.partition("/")
        validate_model_name(name, "model name in the URI")
        if not selector or "/" in selector:
            raise InvalidInputError("model URI", uri, f"must be one of {_FORMS}")
        if selector.isdigit():
            return ModelRef(name, version=int(selector))
        if selector.lower() == "latest":
            return ModelRef(name, latest=True)
        stage = {s.value.lower(): s for s in Stage}.get(selector.lower())
        if stage is None:
            raise InvalidInputError(
                "model URI",
                uri,
                f"{selector!r} is not a version number, 'latest' or a stage (None, Staging, "
                "Production, Archived)",
            )
        return ModelRef(name, stage=stage)
    name, at, alias = rest.partition("@")
    validate_model_name(name, "model name in the URI")
    if not at or not alias:
        raise InvalidInputError("model URI", uri, f"must be one of {_FORMS}")
    return ModelRef(name, alias=alias)


def resolve_model_uri(uri: str, tracking_uri: str | None = None) -> tuple[ModelVersion, str]:
    """The version a ``models:/`` URI names and the artifact URI of its model directory.

    Raises `InvalidInputError` for a malformed URI and `NotFoundError` (with the versions or
    aliases that do exist) for an unknown model, version, alias or an empty stage.
    """
    from flowtrack.client import Client

    ref = parse_model_uri(uri)
    client = Client(tracking_uri)
    if ref.version is not None:
        version = client.get_model_version(ref.name, ref.version)
    elif ref.alias is not None:
        version = client.get_model_version_by_alias(ref.name, ref.alias)
    elif ref.stage is not None:
        found = client.get_latest_versions(ref.name, [ref.stage])
        if not found:
            raise NotFoundError(
                "model version",
                uri,
                f"no version of {ref.name!r} is in stage {ref.stage}; move one there with "
                f"transition_stage({ref.name!r}, <version>, {str(ref.stage)!r})",
            )
        version = found[0]
    else:
        found = client.get_latest_versions(ref.name)
        if not found:
            raise NotFoundError(
                "model version", uri, f"{ref.name!r} has no versions yet; register one first"
            )
        version = max(found, key=lambda v: v.version)
    return version, version.storage_location

"""Checks of registry input: model names, versions, aliases, stages and descriptions.

Every check raises `InvalidInputError` naming the field and the value before anything is
written. The rules are documented in docs/registry.md.
"""

from __future__ import annotations

import re
from typing import Any

from flowtrack.errors import InvalidInputError
from flowtrack.registry.entities import Stage
from flowtrack.validation import validate_positive_int

MAX_MODEL_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 5000

# A name is one segment of a `models:/` URI, so it cannot hold '/' (the version separator) or
# '@' (the alias separator); the other characters are MLflow users' usual ones.
_NAME_RE = re.compile(r"[^\W][\w.\- ]*")
# MLflow's alias rule.
_ALIAS_RE = re.compile(r"[\w\-]+")
_RESERVED_ALIAS_RE = re.compile(r"latest|v\d+", re.IGNORECASE)

_STAGES = {s.value.lower(): s for s in Stage}


def validate_model_name(name: Any, field: str = "model name") -> str:
    if not isinstance(name, str):
        raise InvalidInputError(field, name, f"must be a string, not {type(name).__name__}")
    if not name:
        raise InvalidInputError(field, name, "must not be empty")
    if len(name) > MAX_MODEL_NAME_LENGTH:
        raise InvalidInputError(
            field, name, f"is {len(name)} characters long; the limit is {MAX_MODEL_NAME_LENGTH}"
        )
    if not _NAME_RE.fullmatch(name) or name.endswith(" "):
        raise InvalidInputError(
            field,
            name,
            "may only contain letters, digits, '_', '-', '.' and spaces, must start with a "
            "letter, digit or '_' and must not end with a space ('/' and '@' would make "
            "models:/ URIs ambiguous)",
        )
    return name


def validate_version(version: Any, field: str = "version") -> int:
    """A version number, given as an int (flowtrack) or a str (MLflow): a positive integer."""
    return validate_positive_int(version, field, 2**31, " such as 1 or '1'")


def validate_alias(alias: Any) -> str:
    if not isinstance(alias, str):
        raise InvalidInputError("alias", alias, f"must be a string, not {type(alias).__name__}")
    if not alias:
        raise InvalidInputError("alias", alias, "must not be empty")
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidInputError(
            "alias", alias, f"is {len(alias)} characters long; the limit is {MAX_ALIAS_LENGTH}"
        )
    if not _ALIAS_RE.fullmatch(alias):
        raise InvalidInputError(
            "alias", alias, "may only contain letters, digits, '_' and '-' (MLflow's rule)"
        )
    if _RESERVED_ALIAS_RE.fullmatch(alias):
        raise InvalidInputError(
            "alias",
            alias,
            "is reserved: 'latest' and 'v<number>' (in any case) already mean a version in "
            "models:/ URIs; choose another name such as 'champion'",
        )
    return alias


def validate_stage(stage: Any, field: str = "stage") -> Stage:
    """A stage in any case ('production', 'PRODUCTION') -> its canonical spelling."""
    if stage is None:
        return Stage.NONE
    found = _STAGES.get(stage.strip().lower()) if isinstance(stage, str) else None
    if found is None:
        raise InvalidInputError(
            field, stage, "must be one of None, Staging, Production, Archived (any case)"
        )
    return found


def validate_description(description: Any) -> str | None:
    if description is None:
        return None
    if not isinstance(description, str):
        raise InvalidInputError(
            "description", description, f"must be a string, not {type(description).__name__}"
        )
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInputError(
            "description",
            description,
            f"is {len(description)} characters long; the limit is {MAX_DESCRIPTION_LENGTH}",
        )
    return description

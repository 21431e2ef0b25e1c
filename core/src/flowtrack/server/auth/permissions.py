"""Permission levels: NONE < READ < EDIT < MANAGE, each including the ones below it.

As in MLflow's auth plugin:

* READ: see the experiment (its runs, metrics, artifacts) or the registered model.
* EDIT: also create and change runs in the experiment (log, tag, upload artifacts), rename and
  tag it; or add and change versions, tags, aliases and stages of the model, rename it.
* MANAGE: also delete and restore (the experiment, its runs, the model, its versions), and
  grant and revoke permissions on it.

NONE exists so that an explicit grant can take a user below the server's default.
"""

from __future__ import annotations

import enum
from typing import Literal

from flowtrack.errors import InvalidInputError

ResourceKind = Literal["experiment", "registered_model"]
RESOURCE_KINDS: tuple[ResourceKind, ...] = ("experiment", "registered_model")


class Permission(enum.IntEnum):
    NONE = 0
    READ = 1
    EDIT = 2
    MANAGE = 3

    @classmethod
    def parse(cls, value: object, field: str = "permission") -> Permission:
        if isinstance(value, Permission):
            return value
        if isinstance(value, str) and value.strip().upper() in cls.__members__:
            return cls[value.strip().upper()]
        raise InvalidInputError(field, value, "must be one of NONE, READ, EDIT, MANAGE")


def check_kind(kind: object) -> ResourceKind:
    if kind == "experiment":
        return "experiment"
    if kind == "registered_model":
        return "registered_model"
    raise InvalidInputError("resource type", kind, "must be 'experiment' or 'registered_model'")

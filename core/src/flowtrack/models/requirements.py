"""A model's requirements: the packages it needs, pinned to the versions installed now."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from importlib import metadata

from flowtrack.errors import InvalidInputError

# A bare distribution name (PEP 508): pinned from the environment. Anything else ("x>=1",
# "x @ https://...") is kept as the user wrote it.
_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return canonical(re.split(r"[\s<>=!~;\[@(]", requirement.strip(), maxsplit=1)[0])


def pin(name: str) -> str | None:
    """``name==<installed version>``, or None when it is not installed."""
    try:
        return f"{name}=={metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return None


def model_requirements(needed: Iterable[str], extra: Sequence[str] | None = None) -> list[str]:
    """flowtrack and ``needed`` pinned (those installed), then ``extra``: a bare name is
    pinned too, anything with a version spec is kept as given and wins over a pin."""
    chosen: dict[str, str] = {}
    for name in ["flowtrack", *needed]:
        pinned = pin(name)
        if pinned is not None:
            chosen.setdefault(canonical(name), pinned)
    for requirement in extra or ():
        if not isinstance(requirement, str) or not requirement.strip():
            raise InvalidInputError("requirements", requirement, "must be non-empty strings")
        text = requirement.strip()
        if _NAME.match(text):
            pinned = pin(text)
            if pinned is None:
                raise InvalidInputError(
                    "requirements",
                    text,
                    "is not installed, so it cannot be pinned; give a version ('name==1.2')",
                )
            text = pinned
        chosen[_requirement_name(text)] = text
    return list(chosen.values())

"""Finding flavors: by name, or the first that handles a model (plugins' before built-ins,
the generic ``python_function`` last)."""

from __future__ import annotations

import logging

from flowtrack.errors import InvalidInputError
from flowtrack.plugins import facade
from flowtrack.plugins.records import FlavorSpec

log = logging.getLogger("flowtrack.models")

GENERIC = "python_function"


def ordered() -> list[FlavorSpec]:
    """Every flavor once (the first registered under a name wins), the generic one last."""
    seen: dict[str, FlavorSpec] = {}
    for spec in facade.flavors():
        seen.setdefault(spec.name, spec)
    specs = list(seen.values())
    return [s for s in specs if s.name != GENERIC] + [s for s in specs if s.name == GENERIC]


def get(name: str) -> FlavorSpec:
    specs = ordered()
    for spec in specs:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in specs) or "none"
    raise InvalidInputError(
        "flavor",
        name,
        f"is not registered (known: {known}); install the plugin that provides it, and check "
        "that FLOWTRACK_PLUGINS does not leave it out",
    )


def choose(model: object) -> FlavorSpec:
    for spec in ordered():
        try:
            if spec.handles(model):
                return spec
        except Exception:
            # A plugin's handles() must not stop the others from being asked.
            log.error("flavor %r failed in handles(); skipped", spec.name, exc_info=True)
    raise InvalidInputError(
        "model",
        type(model).__name__,
        "no flavor handles it: give a callable, an object with a predict method, or pass "
        "flavor=... naming a registered flavor",
    )

"""Prefect's own plugin entry point (group ``prefect.plugins``): FLOWTRACK_PREFECT_ENABLE=1.

Prefect runs the ``setup_environment`` hooks of its plugins while ``import prefect`` runs,
when its plugin system is on (``PREFECT_PLUGINS_ENABLED=true``). With
``FLOWTRACK_PREFECT_ENABLE=1`` too, every flow run in the process is recorded, as after
``flowtrack_prefect.enable()``, with no change to the flow's code. Prefect is only half
imported at that point, so this module touches its engine modules and nothing else.
"""

from __future__ import annotations

import os
from typing import Any

import pluggy

PREFECT_PLUGIN_API_REQUIRES = ">=0.1,<1"
ENV_ENABLE = "FLOWTRACK_PREFECT_ENABLE"
ENV_EXPERIMENT = "FLOWTRACK_PREFECT_EXPERIMENT"
ENV_VERSION_OUTPUTS = "FLOWTRACK_PREFECT_VERSION_OUTPUTS"
_TRUE = ("1", "true", "yes", "on")

register_hook = pluggy.HookimplMarker("prefect-experimental")


def options_from_environment() -> Any:
    """The `enable` options FLOWTRACK_PREFECT_* ask for, or None when not enabled."""
    from flowtrack_prefect.recorder import Options

    if os.environ.get(ENV_ENABLE, "").strip().lower() not in _TRUE:
        return None
    return Options(
        experiment=os.environ.get(ENV_EXPERIMENT) or None,
        version_outputs=os.environ.get(ENV_VERSION_OUTPUTS, "").strip().lower() in _TRUE,
    )


@register_hook
def setup_environment(*, ctx: Any) -> None:
    options = options_from_environment()
    if options is None:
        return
    from flowtrack_prefect import engine, recorder

    if engine.install():
        recorder.enabled[:] = [options]

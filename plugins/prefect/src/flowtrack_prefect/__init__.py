"""flowtrack adapter for Prefect: ``@tracked`` above ``@flow`` records every run.

::

    from prefect import flow, task
    from flowtrack_prefect import tracked

    @tracked(experiment="churn", version_outputs=True)
    @flow
    def pipeline(alpha: float = 0.5): ...

See docs/prefect.md. Importing this package does not import Prefect; the names below do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowtrack_prefect.api import disable, enable, tracked, tracked_task

__all__ = ["disable", "enable", "tracked", "tracked_task"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        value = getattr(importlib.import_module("flowtrack_prefect.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'flowtrack_prefect' has no attribute {name!r}")

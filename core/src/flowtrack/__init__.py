"""flowtrack: experiment tracking, data versioning and a model registry.

The module-level calls have MLflow's names and shape::

    import flowtrack

    flowtrack.set_experiment("churn")
    with flowtrack.start_run(run_name="baseline"):
        flowtrack.log_params({"alpha": 0.5})
        flowtrack.log_metric("loss", 0.3, step=1)
"""

import importlib
from typing import TYPE_CHECKING, Any

from flowtrack.errors import (
    ConflictError,
    FlowtrackError,
    InvalidInputError,
    NotFoundError,
    StoreUnavailableError,
)

if TYPE_CHECKING:
    from flowtrack import data, models
    from flowtrack.client import Client
    from flowtrack.entities import (
        DatasetVersion,
        Experiment,
        Metric,
        Param,
        Run,
        RunData,
        RunInfo,
        RunStatus,
        RunTag,
        SourceType,
        ViewType,
    )
    from flowtrack.hookspecs import hookimpl
    from flowtrack.registry import ModelVersion, RegisteredModel, RegistryEvent, register_model
    from flowtrack.tracking.datasets import log_input, log_output
    from flowtrack.tracking.log import (
        delete_tag,
        get_artifact_uri,
        log_artifact,
        log_artifacts,
        log_dict,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_text,
        set_tag,
        set_tags,
    )
    from flowtrack.tracking.runs import (
        ActiveRun,
        active_run,
        end_run,
        flush,
        get_tracking_uri,
        last_active_run,
        set_experiment,
        set_tracking_uri,
        start_run,
    )

# Where each public name lives. Importing flowtrack loads none of it: a `flowtrack data`
# command or a worker that only reads the environment must not pay ~80 ms for the tracking
# client, the plugin manager and the store (PEP 562 module __getattr__).
_LAZY: dict[str, str] = {
    "Client": "flowtrack.client",
    "DatasetVersion": "flowtrack.entities",
    "Experiment": "flowtrack.entities",
    "Metric": "flowtrack.entities",
    "Param": "flowtrack.entities",
    "Run": "flowtrack.entities",
    "RunData": "flowtrack.entities",
    "RunInfo": "flowtrack.entities",
    "RunStatus": "flowtrack.entities",
    "RunTag": "flowtrack.entities",
    "SourceType": "flowtrack.entities",
    "ViewType": "flowtrack.entities",
    "hookimpl": "flowtrack.hookspecs",
    "ModelVersion": "flowtrack.registry",
    "RegisteredModel": "flowtrack.registry",
    "RegistryEvent": "flowtrack.registry",
    "register_model": "flowtrack.registry",
    "log_input": "flowtrack.tracking.datasets",
    "log_output": "flowtrack.tracking.datasets",
    "delete_tag": "flowtrack.tracking.log",
    "get_artifact_uri": "flowtrack.tracking.log",
    "log_artifact": "flowtrack.tracking.log",
    "log_artifacts": "flowtrack.tracking.log",
    "log_dict": "flowtrack.tracking.log",
    "log_metric": "flowtrack.tracking.log",
    "log_metrics": "flowtrack.tracking.log",
    "log_param": "flowtrack.tracking.log",
    "log_params": "flowtrack.tracking.log",
    "log_text": "flowtrack.tracking.log",
    "set_tag": "flowtrack.tracking.log",
    "set_tags": "flowtrack.tracking.log",
    "ActiveRun": "flowtrack.tracking.runs",
    "active_run": "flowtrack.tracking.runs",
    "end_run": "flowtrack.tracking.runs",
    "flush": "flowtrack.tracking.runs",
    "get_tracking_uri": "flowtrack.tracking.runs",
    "last_active_run": "flowtrack.tracking.runs",
    "set_experiment": "flowtrack.tracking.runs",
    "set_tracking_uri": "flowtrack.tracking.runs",
    "start_run": "flowtrack.tracking.runs",
}
_SUBMODULES = frozenset({"data", "models"})

__version__ = "0.1.0"

__all__ = [
    "ActiveRun",
    "Client",
    "ConflictError",
    "DatasetVersion",
    "Experiment",
    "FlowtrackError",
    "InvalidInputError",
    "Metric",
    "ModelVersion",
    "NotFoundError",
    "Param",
    "RegisteredModel",
    "RegistryEvent",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "SourceType",
    "StoreUnavailableError",
    "ViewType",
    "__version__",
    "active_run",
    "data",
    "delete_tag",
    "end_run",
    "flush",
    "get_artifact_uri",
    "get_tracking_uri",
    "hookimpl",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_output",
    "log_param",
    "log_params",
    "log_text",
    "models",
    "register_model",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"flowtrack.{name}")
    else:
        raise AttributeError(f"module 'flowtrack' has no attribute {name!r}")
    globals()[name] = value  # once resolved, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBMODULES})

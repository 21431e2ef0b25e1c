"""flowtrack: experiment tracking, data versioning and a model registry.

The module-level calls have MLflow's names and shape::

    import flowtrack

    flowtrack.set_experiment("churn")
    with flowtrack.start_run(run_name="baseline"):
        flowtrack.log_params({"alpha": 0.5})
        flowtrack.log_metric("loss", 0.3, step=1)
"""

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
from flowtrack.errors import (
    ConflictError,
    FlowtrackError,
    InvalidInputError,
    NotFoundError,
    StoreUnavailableError,
)
from flowtrack.hookspecs import hookimpl
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
    "NotFoundError",
    "Param",
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
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]

"""Where the server serves each stored artifact location: the ``artifact_proxy`` of answers.

An experiment's files are served under ``experiments/<id>/artifacts/`` (mapped onto its
artifact location, wherever that is), so a run's are under
``experiments/<id>/artifacts/<run_id>/artifacts/`` when its artifact URI lies in its
experiment's location (as every run flowtrack creates), else under ``runs/<run_id>/artifacts/``.
A registered version's files are served where its run's are.
"""

from __future__ import annotations

from collections.abc import Iterable

from flowtrack.entities import Experiment, Run
from flowtrack.errors import NotFoundError
from flowtrack.registry.entities import ModelVersion
from flowtrack.server.state import ServerState


def remember(state: ServerState, experiment: Experiment) -> None:
    if experiment.artifact_location:
        state.locations[experiment.experiment_id] = experiment.artifact_location


def location(state: ServerState, experiment_id: str) -> str:
    """The experiment's artifact location (`NotFoundError` if there is no such experiment)."""
    found = state.locations.get(experiment_id)
    if found is None:
        experiment = state.store.get_experiment(experiment_id)
        remember(state, experiment)
        found = experiment.artifact_location
    return found


def experiment_proxy(state: ServerState, experiment: Experiment) -> str:
    remember(state, experiment)
    return f"experiments/{experiment.experiment_id}/artifacts"


def run_proxy(state: ServerState, run: Run) -> str:
    info = run.info
    try:
        root = location(state, info.experiment_id).rstrip("/")
    except NotFoundError:
        root = ""
    if root and info.artifact_uri.startswith(root + "/"):
        return f"experiments/{info.experiment_id}/artifacts/{info.artifact_uri[len(root) + 1 :]}"
    return f"runs/{info.run_id}/artifacts"


def version_proxy(state: ServerState, version: ModelVersion, runs: dict[str, Run]) -> str | None:
    run = runs.get(version.run_id or "")
    if run is None or not version.storage_location:
        return None
    root = run.info.artifact_uri.rstrip("/")
    where = version.storage_location
    if where == root:
        return run_proxy(state, run)
    if where.startswith(root + "/"):
        return f"{run_proxy(state, run)}/{where[len(root) + 1 :]}"
    return None


def runs_of(state: ServerState, versions: Iterable[ModelVersion]) -> dict[str, Run]:
    """The runs of these versions, by id, for `version_proxy` (one query for all)."""
    ids = sorted({v.run_id for v in versions if v.run_id})
    return {r.info.run_id: r for r in state.store.get_runs(ids)} if ids else {}

"""The public surface: `tracked`, `tracked_task` and `enable`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from prefect import Flow, Task

from flowtrack_prefect import engine, recorder

F = TypeVar("F", Flow[Any, Any], Task[Any, Any])

_HOOKS = ("on_running", "on_completion", "on_failure", "on_cancellation", "on_crashed")


def _options(
    experiment: str | None, version_outputs: bool, register_model: str | None
) -> recorder.Options:
    from flowtrack.errors import InvalidInputError

    if experiment is not None and (not isinstance(experiment, str) or not experiment.strip()):
        raise InvalidInputError("experiment", experiment, "must be a non-empty string or None")
    if not isinstance(version_outputs, bool):
        raise InvalidInputError("version_outputs", version_outputs, "must be True or False")
    if register_model is not None and (
        not isinstance(register_model, str) or not register_model.strip()
    ):
        raise InvalidInputError(
            "register_model", register_model, "must be a registered model name or None"
        )
    return recorder.Options(experiment, version_outputs, register_model)


def _track_flow(flow: Flow[Any, Any], options: recorder.Options) -> Flow[Any, Any]:
    hook = engine.FlowHook(options)
    hooks: dict[str, Any] = {}
    for name in _HOOKS:
        # Ours replace an earlier `tracked`'s; the user's hooks stay, and run after ours.
        existing = [h for h in getattr(flow, f"{name}_hooks") if not isinstance(h, engine.FlowHook)]
        hooks[name] = [hook, *existing]
    return flow.with_options(**hooks)


def _track_task(task: Task[Any, Any], options: recorder.Options) -> Task[Any, Any]:
    recorder.tracked_tasks[task.fn] = options
    return task


@overload
def tracked(
    obj: F,
    *,
    experiment: str | None = None,
    version_outputs: bool = False,
    register_model: str | None = None,
) -> F: ...


@overload
def tracked(
    obj: None = None,
    *,
    experiment: str | None = None,
    version_outputs: bool = False,
    register_model: str | None = None,
) -> Callable[[F], F]: ...


def tracked(
    obj: F | None = None,
    *,
    experiment: str | None = None,
    version_outputs: bool = False,
    register_model: str | None = None,
) -> F | Callable[[F], F]:
    """Record every run of a Prefect flow (or task) in flowtrack; returns a real Flow (Task).

    Put it above ``@flow``: ``@tracked(experiment="churn")`` or bare ``@tracked``, or call
    ``tracked(existing_flow)``. The flow's state hooks are kept; tracking adds its own.
    ``experiment`` names the experiment of the flow's runs (default: the active one);
    ``version_outputs`` versions each task's return value as a dataset; ``register_model``
    logs the flow's return value as a model and registers it under that name.
    """
    options = _options(experiment, version_outputs, register_model)
    engine.install()

    def apply(target: F) -> F:
        if isinstance(target, Flow):
            return _track_flow(target, options)
        if isinstance(target, Task):
            return _track_task(target, options)
        from flowtrack.errors import InvalidInputError

        raise InvalidInputError(
            "tracked target",
            f"{type(target).__module__}.{type(target).__qualname__}",
            "must be a prefect Flow or Task: put @tracked above @flow or @task",
        )

    return apply(obj) if obj is not None else apply


def tracked_task(
    obj: Task[Any, Any] | None = None, *, version_outputs: bool = False
) -> Task[Any, Any] | Callable[[Task[Any, Any]], Task[Any, Any]]:
    """Record this task's runs even outside a tracked flow; above ``@task``."""
    if obj is not None:
        return tracked(obj, version_outputs=version_outputs)
    return tracked(version_outputs=version_outputs)


def enable(experiment: str | None = None, version_outputs: bool = False) -> None:
    """Record every flow run (and task run) in this process, decorated or not."""
    options = _options(experiment, version_outputs, None)
    engine.install()
    recorder.enabled[:] = [options]


def disable() -> None:
    """Undo `enable`; flows decorated with `tracked` are still recorded."""
    recorder.enabled.clear()

"""Where task runs are seen: Prefect's task engines, and the flow engines for `enable()`.

Prefect has no process-wide hook for task runs, and state hooks attached to each task would
mean changing every task a flow calls (and cost a Prefect log line per hook call). So the
engines' ``call_hooks``, which Prefect calls on Running (before the task's function, on its
thread) and on the final state, is wrapped once per process: the wrapper records the state,
then calls Prefect's own. It records nothing unless a tracked flow run is active in the
context, the task is tracked, or `enable()` was called. For flows, `tracked` uses Prefect's
public state hooks; the flow engines are wrapped too, so that subflows of a tracked flow and,
after `enable()`, every flow is recorded.

Tested with Prefect 3.7.7 (see docs/prefect.md for the supported range).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from flowtrack_prefect import recorder

log = logging.getLogger("flowtrack.prefect")

_installed: list[bool] = []
_lock = threading.Lock()


class FlowHook:
    """The state hook `tracked` adds to a flow (on_running, completion, failure, ...)."""

    def __init__(self, options: recorder.Options) -> None:
        self.options = options
        self.__name__ = "flowtrack"  # Prefect logs hooks by name

    def __call__(self, flow: Any, flow_run: Any, state: Any) -> None:
        # A served or deployed flow may reach this process pickled, without `tracked` having
        # run here: the engines are wrapped on its first state at the latest.
        install()
        recorder.flow_state(flow, flow_run, state, self.options)


def hooked(flow: Any) -> bool:
    return any(isinstance(h, FlowHook) for h in flow.on_running_hooks)


def _flow_options(flow: Any) -> recorder.Options | None:
    if hooked(flow):
        return None  # its own hooks record it
    parent = recorder.current_flow.get()
    if parent is not None:
        return parent.options.for_children()
    return recorder.enabled[0] if recorder.enabled else None


def _sync_task(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def call_hooks(self: Any, state: Any = None) -> None:
        if self.task_run is not None:
            recorder.task_state(self.task, self.task_run, state or self.state)
        original(self, state)

    return call_hooks


def _async_task(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def call_hooks(self: Any, state: Any = None) -> None:
        if self.task_run is not None:
            recorder.task_state(self.task, self.task_run, state or self.state)
        await original(self, state)

    return call_hooks


def _record_flow(self: Any, state: Any) -> None:
    if self.flow_run is None:
        return
    state = state or self.state
    try:
        options = _flow_options(self.flow)
        if options is None and (state.is_crashed() or state.is_cancelling()):
            # A tracked flow's own hooks for these states only run where Prefect's engine
            # owns them; the record ends here too (ending twice is a no-op).
            options = next(
                (h.options for h in self.flow.on_running_hooks if isinstance(h, FlowHook)), None
            )
    except Exception:
        log.warning("flowtrack: could not read flow %r", self.flow, exc_info=True)
        return
    if options is not None:
        recorder.flow_state(self.flow, self.flow_run, state, options)


def _sync_flow(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def call_hooks(self: Any, state: Any = None) -> None:
        _record_flow(self, state)
        original(self, state)

    return call_hooks


def _async_flow(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def call_hooks(self: Any, state: Any = None) -> None:
        _record_flow(self, state)
        await original(self, state)

    return call_hooks


def install() -> bool:
    """Wrap the engines once per process; False (and a warning) if this Prefect differs."""
    with _lock:
        if _installed:
            return _installed[0]
        try:
            from prefect.flow_engine import AsyncFlowRunEngine, FlowRunEngine
            from prefect.task_engine import AsyncTaskRunEngine, SyncTaskRunEngine

            targets = [
                (SyncTaskRunEngine, _sync_task),
                (AsyncTaskRunEngine, _async_task),
                (FlowRunEngine, _sync_flow),
                (AsyncFlowRunEngine, _async_flow),
            ]
            for cls, _ in targets:
                if not callable(getattr(cls, "call_hooks", None)):
                    raise AttributeError(f"{cls.__name__}.call_hooks")
            for cls, wrap in targets:
                setattr(cls, "call_hooks", wrap(cls.__dict__["call_hooks"]))  # noqa: B010
        except (ImportError, AttributeError) as exc:
            import prefect

            log.warning(
                "flowtrack: task runs are not recorded with Prefect %s (%s is missing); flow "
                "runs still are. See docs/prefect.md for the tested versions",
                prefect.__version__,
                exc,
            )
            _installed.append(False)
            return False
        _installed.append(True)
        return True

"""Helpers for testing flowtrack and flowtrack plugins.

``reset()`` puts the process back to a clean state (no active run, no cached stores, writers
closed, a fresh plugin manager); ``registered(plugin)`` adds a throwaway plugin for a block::

    def test_my_plugin(tmp_path, monkeypatch):
        monkeypatch.setenv("FLOWTRACK_HOME", str(tmp_path))
        flowtrack.testing.reset()
        with flowtrack.testing.registered(MyPlugin()):
            ...
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from flowtrack import config
from flowtrack.plugins import get_plugin_manager, reset_plugin_manager


def reset() -> None:
    from flowtrack.tracking import context, runs, stores, writer

    writer.close_all(timeout=5)
    stores.forget_stores()
    for state in reversed(context.stack()):
        context.pop(state)
    context._env_runs.clear()
    runs._experiment.update(name=None, id=None)
    runs._experiment_cache.clear()
    runs._last_run.clear()
    config.set_tracking_uri(None)
    for key in (config.ENV_RUN_ID, config.ENV_PARENT_RUN_ID, config.ENV_EXPERIMENT):
        os.environ.pop(key, None)
    reset_plugin_manager()


@contextlib.contextmanager
def registered(plugin: object, name: str | None = None) -> Iterator[object]:
    pm = get_plugin_manager()
    pm.register(plugin, name=name)
    try:
        yield plugin
    finally:
        pm.unregister(plugin)

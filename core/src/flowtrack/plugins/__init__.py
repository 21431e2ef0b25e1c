"""The plugin manager: built-in plugins, entry points, and the ``FLOWTRACK_PLUGINS`` switch.

Built-in behaviour is registered as plugins too (``DEFAULT_PLUGINS``), so the core has no
special cases: the SQL and REST stores, the fsspec artifact store and the model flavors are found
through the same hooks an outside plugin uses.

``FLOWTRACK_PLUGINS`` narrows what is loaded:

* unset or ``all``: every built-in and every installed entry point;
* ``none``: only the built-ins the core cannot work without (stores, model flavors);
* ``git_context,airflow``: those, plus the required built-ins;
* ``-git_context`` (or ``all,-git_context``): everything but those.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from importlib.metadata import entry_points

import pluggy

from flowtrack import hookspecs
from flowtrack.config import ENV_PLUGINS

log = logging.getLogger("flowtrack.plugins")

ENTRY_POINT_GROUP = "flowtrack"

# name -> module. The required ones stay on whatever FLOWTRACK_PLUGINS says: without the stores
# nothing can be stored, and a model saved anywhere must load anywhere (flavors).
DEFAULT_PLUGINS: dict[str, str] = {
    "sql_store": "flowtrack.builtin.sql_store",
    "rest_store": "flowtrack.builtin.rest_store",
    "fsspec_artifacts": "flowtrack.builtin.fsspec_artifacts",
    "git_context": "flowtrack.builtin.git_context",
    "host_context": "flowtrack.builtin.host_context",
    "serializers": "flowtrack.builtin.serializers",
    "flavors": "flowtrack.builtin.flavors",
}
REQUIRED_PLUGINS = frozenset({"sql_store", "rest_store", "fsspec_artifacts", "flavors"})


class _Selection:
    def __init__(self, spec: str | None) -> None:
        items = [i.strip() for i in (spec or "all").split(",") if i.strip()]
        self.excluded = {i[1:] for i in items if i.startswith("-")}
        included = {i for i in items if not i.startswith("-")}
        self.everything = "all" in included or (not included and bool(self.excluded))
        self.included = included - {"all", "none"}

    def wants(self, name: str) -> bool:
        if name in REQUIRED_PLUGINS:
            return True
        if name in self.excluded:
            return False
        return self.everything or name in self.included


def make_plugin_manager(
    spec: str | None = None, *, entry_points_too: bool = True
) -> pluggy.PluginManager:
    """A new manager; `get_plugin_manager()` is the cached one the library uses."""
    pm = pluggy.PluginManager("flowtrack")
    pm.add_hookspecs(hookspecs)
    selection = _Selection(spec)
    for name, module_name in DEFAULT_PLUGINS.items():
        if selection.wants(name):
            _register(pm, name, lambda m=module_name: importlib.import_module(m))
    if entry_points_too:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if selection.wants(ep.name):
                _register(pm, ep.name, ep.load)
    return pm


def _register(pm: pluggy.PluginManager, name: str, load: object) -> None:
    try:
        plugin = load()  # type: ignore[operator]
        pm.register(plugin, name=name)
    except Exception:
        # A broken plugin must never take tracking down with it.
        log.warning("flowtrack plugin %r failed to load and was skipped", name, exc_info=True)


@functools.cache
def get_plugin_manager() -> pluggy.PluginManager:
    return make_plugin_manager(os.environ.get(ENV_PLUGINS))


def reset_plugin_manager() -> None:
    """Forget the cached manager (tests, or after changing FLOWTRACK_PLUGINS)."""
    get_plugin_manager.cache_clear()

"""Typed calls into the plugin manager, so no other module touches ``pm.hook`` directly.

Each plugin's implementation is called on its own: one that raises is logged with its name and
skipped, and the others still run (pluggy alone would stop at the first exception).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flowtrack.plugins import get_plugin_manager

if TYPE_CHECKING:
    from flowtrack.entities import DatasetVersion, Metric, Param, Run, RunTag
    from flowtrack.plugins.records import (
        ArtifactStoreSpec,
        CommandSpec,
        FlavorSpec,
        SerializerSpec,
        StoreSpec,
    )
    from flowtrack.registry.entities import ModelVersion
    from flowtrack.tracking.context import RunState

log = logging.getLogger("flowtrack.plugins")


def _each(hook_name: str, kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
    pm = get_plugin_manager()
    caller = getattr(pm.hook, hook_name)
    results: list[tuple[str, Any]] = []
    for impl in reversed(caller.get_hookimpls()):
        try:
            value = impl.function(**{k: kwargs[k] for k in impl.argnames})
        except Exception:
            log.error(
                "flowtrack plugin %r raised in %s; ignored",
                impl.plugin_name,
                hook_name,
                exc_info=True,
            )
            continue
        results.append((impl.plugin_name, value))
    return results


def has_listeners(hook_name: str) -> bool:
    return bool(getattr(get_plugin_manager().hook, hook_name).get_hookimpls())


# -- notifications ---------------------------------------------------------------------------


def run_started(run: Run) -> None:
    _each("flowtrack_run_started", {"run": run})


def run_finished(run_id: str, status: str, end_time: int) -> None:
    _each("flowtrack_run_finished", {"run_id": run_id, "status": status, "end_time": end_time})


def metrics_logged(run_id: str, metrics: Sequence[Metric]) -> None:
    _each("flowtrack_metrics_logged", {"run_id": run_id, "metrics": metrics})


def params_logged(run_id: str, params: Sequence[Param]) -> None:
    _each("flowtrack_params_logged", {"run_id": run_id, "params": params})


def tags_set(run_id: str, tags: Sequence[RunTag]) -> None:
    _each("flowtrack_tags_set", {"run_id": run_id, "tags": tags})


def artifacts_logged(run_id: str, paths: Sequence[str]) -> None:
    _each("flowtrack_artifacts_logged", {"run_id": run_id, "paths": paths})


def data_versioned(version: DatasetVersion, run_id: str | None, direction: str) -> None:
    _each(
        "flowtrack_data_versioned",
        {"version": version, "run_id": run_id, "direction": direction},
    )


def model_version_created(version: ModelVersion) -> None:
    _each("flowtrack_model_version_created", {"version": version})


def model_alias_set(name: str, alias: str, version: int) -> None:
    _each("flowtrack_model_alias_set", {"name": name, "alias": alias, "version": version})


def model_stage_changed(version: ModelVersion, old_stage: str, new_stage: str) -> None:
    _each(
        "flowtrack_model_stage_changed",
        {"version": version, "old_stage": old_stage, "new_stage": new_stage},
    )


# -- registrations ---------------------------------------------------------------------------


def _records(hook_name: str, record_type: type) -> list[Any]:
    out: list[Any] = []
    for plugin, value in _each(hook_name, {}):
        for record in value or ():
            if isinstance(record, record_type):
                out.append(record)
            else:
                log.error(
                    "flowtrack plugin %r returned %r from %s, not a %s; skipped",
                    plugin,
                    record,
                    hook_name,
                    record_type.__name__,
                )
    return out


def stores() -> list[StoreSpec]:
    from flowtrack.plugins.records import StoreSpec

    return _records("flowtrack_register_stores", StoreSpec)


def artifact_stores() -> list[ArtifactStoreSpec]:
    from flowtrack.plugins.records import ArtifactStoreSpec

    return _records("flowtrack_register_artifact_stores", ArtifactStoreSpec)


def commands() -> list[CommandSpec]:
    from flowtrack.plugins.records import CommandSpec

    return _records("flowtrack_register_commands", CommandSpec)


def _plugins_first(hook_name: str, record_type: type) -> list[Any]:
    """The records a registration hook returned, outside plugins' before the built-in ones."""
    from flowtrack.plugins import DEFAULT_PLUGINS

    mine: list[Any] = []
    builtin: list[Any] = []
    for plugin, value in _each(hook_name, {}):
        for record in value or ():
            if not isinstance(record, record_type):
                log.error(
                    "flowtrack plugin %r returned %r from %s, not a %s; skipped",
                    plugin,
                    record,
                    hook_name,
                    record_type.__name__,
                )
                continue
            (builtin if plugin in DEFAULT_PLUGINS else mine).append(record)
    return mine + builtin


def serializers() -> list[SerializerSpec]:
    """Every registered serializer, plugins' before the built-in ones."""
    from flowtrack.plugins.records import SerializerSpec

    return _plugins_first("flowtrack_register_serializers", SerializerSpec)


def flavors() -> list[FlavorSpec]:
    """Every registered model flavor, plugins' before the built-in ones."""
    from flowtrack.plugins.records import FlavorSpec

    return _plugins_first("flowtrack_register_flavors", FlavorSpec)


def run_context() -> dict[str, str]:
    tags: dict[str, str] = {}
    for plugin, value in _each("flowtrack_run_context", {}):
        if value is None:
            continue
        if not isinstance(value, dict):
            log.error(
                "flowtrack plugin %r returned %r from flowtrack_run_context; skipped", plugin, value
            )
            continue
        tags.update({str(k): str(v) for k, v in value.items()})
    return tags


def current_run() -> RunState | None:
    """The run a plugin says code with no active run logs to (`flowtrack_current_run`)."""
    if not has_listeners("flowtrack_current_run"):
        return None
    for _, value in _each("flowtrack_current_run", {}):
        if value is not None:
            return value  # type: ignore[no-any-return]
    return None


def sync(dry_run: bool) -> list[str]:
    lines: list[str] = []
    for _, value in _each("flowtrack_sync", {"dry_run": dry_run}):
        lines += [str(line) for line in value or ()]
    return lines

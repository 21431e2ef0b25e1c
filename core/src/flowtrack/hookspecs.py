"""Every hook flowtrack calls. The docstrings below are the plugin documentation
(docs/plugins.md is generated from them: ``python -m flowtrack.plugins.docs``).

A plugin is a module or object with functions marked ``@flowtrack.hookimpl`` and named like
the specs below; an implementation may accept a subset of a spec's arguments. Register it with
an entry point in the ``flowtrack`` group::

    [project.entry-points.flowtrack]
    my_plugin = "my_package.flowtrack_plugin"

There are two kinds of hooks:

* **notifications** (``flowtrack_run_started`` ...) tell plugins what happened. They run after
  the event reached the store, in flowtrack's writer thread and in the order they were
  logged. An exception in one is logged with the plugin's name and never reaches the user's
  code.
* **registrations** (``flowtrack_register_...``, ``flowtrack_run_context``) return typed
  records that add behaviour: stores, artifact stores, CLI commands, tags. A plugin that fails
  here is logged and skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

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

hookspec = pluggy.HookspecMarker("flowtrack")
hookimpl = pluggy.HookimplMarker("flowtrack")


# -- notifications ---------------------------------------------------------------------------


@hookspec
def flowtrack_run_started(run: Run) -> None:
    """A run was created in the store.

    ``run`` is the run as the store holds it right after creation: its info (id, name,
    experiment, parent, source type and reference) and the tags it was started with.
    """


@hookspec
def flowtrack_run_finished(run_id: str, status: str, end_time: int) -> None:
    """A run ended with ``status`` (FINISHED, FAILED or KILLED) at ``end_time`` (ms since epoch)."""


@hookspec
def flowtrack_metrics_logged(run_id: str, metrics: Sequence[Metric]) -> None:
    """A batch of metric points of one run was written.

    Called once per run and batch, not once per point, so a plugin costs little per metric.
    """


@hookspec
def flowtrack_params_logged(run_id: str, params: Sequence[Param]) -> None:
    """A batch of params of one run was written."""


@hookspec
def flowtrack_tags_set(run_id: str, tags: Sequence[RunTag]) -> None:
    """A batch of tags of one run was written."""


@hookspec
def flowtrack_artifacts_logged(run_id: str, paths: Sequence[str]) -> None:
    """Files were stored as artifacts of a run.

    ``paths`` are relative to the run's artifact root.
    """


@hookspec
def flowtrack_data_versioned(version: DatasetVersion, run_id: str | None, direction: str) -> None:
    """A new dataset version reached the store (``flowtrack.log_input`` / ``log_output``).

    Called once per version, when it is first stored: logging the same content at the same
    place again (in this run or another) links the runs to the existing version and does not
    call this hook. ``run_id`` is the run that logged it and ``direction`` is "input" or
    "output". ``version.uri`` is an absolute local path or a URL; ``version.digest`` is the
    content hash (a folder's ends in ".dir") or, for ``mode="reference"``, a fingerprint
    starting with "ref:".
    """


@hookspec
def flowtrack_model_version_created(version: ModelVersion) -> None:
    """A model version was registered (``flowtrack.register_model``, ``create_model_version``).

    Registry hooks run in the process that made the change, right after its transaction
    committed, so the store already holds what they are told. ``version.version`` is the new
    version number, ``version.source`` the source as given (``runs:/<run_id>/<path>``),
    ``version.storage_location`` the artifact URI it resolves to and ``version.run_id`` the
    run that produced it.
    """


@hookspec
def flowtrack_model_alias_set(name: str, alias: str, version: int) -> None:
    """The alias ``alias`` of the registered model ``name`` now points at ``version``.

    Called for every ``set_alias`` / ``set_registered_model_alias``, also when the alias
    already pointed there; ``models:/<name>@<alias>`` resolves to that version from now on.
    """


@hookspec
def flowtrack_model_stage_changed(version: ModelVersion, old_stage: str, new_stage: str) -> None:
    """A model version moved from ``old_stage`` to ``new_stage`` (None, Staging, Production or
    Archived, in that spelling).

    Called once per version that moved: ``transition_stage(..., archive_existing=True)`` also
    calls it for each previous holder of the stage moved to Archived, after the version asked
    for. ``version`` is the version as it is after the change.
    """


# -- registrations ---------------------------------------------------------------------------


@hookspec
def flowtrack_register_stores() -> Sequence[StoreSpec]:
    """Return tracking stores, each a ``StoreSpec(name, schemes, factory)``.

    ``factory(uri)`` builds the store for a tracking URI whose scheme is in ``schemes``
    (for example ``("sqlite", "postgresql")``); the built-in SQL store is registered this way.
    """
    return ()


@hookspec
def flowtrack_register_artifact_stores() -> Sequence[ArtifactStoreSpec]:
    """Return artifact stores, each an ``ArtifactStoreSpec(name, schemes, factory)``.

    ``factory(root_uri)`` builds the store that keeps the artifacts of one run under
    ``root_uri``. The scheme ``"*"`` is the fallback; the built-in fsspec store is registered
    with it, so any fsspec URL (local path, s3://, gs://, ...) works out of the box.
    """
    return ()


@hookspec
def flowtrack_register_commands() -> Sequence[CommandSpec]:
    """Return CLI commands, each a ``CommandSpec(command)`` holding a ``click.Command``.

    They appear under ``flowtrack`` beside the built-in ones.
    """
    return ()


@hookspec
def flowtrack_register_serializers() -> Sequence[SerializerSpec]:
    """Return serializers, each a ``SerializerSpec(name, handles, suffix, write)``.

    ``flowtrack.tracking.datasets.log_object_output(obj, name)`` writes a task's return value
    with the first serializer whose ``handles(obj)`` is true and logs the file as an output of
    the run. Plugins' serializers are tried before the built-in ones (bytes, str, JSON-able
    dict or list, and, when installed, pandas DataFrame and numpy array). ``handles`` must be
    cheap and must not import a library the object cannot come from (check
    ``sys.modules`` instead).
    """
    return ()


@hookspec
def flowtrack_register_flavors() -> Sequence[FlavorSpec]:
    """Return model flavors, each a ``FlavorSpec(name, handles, save, load, predict, ...)``.

    A flavor is one way of writing a model to a model directory and reading it back
    (``flowtrack.models``, docs/models.md). ``flowtrack.models.save_model`` and ``log_model``
    use the first flavor whose ``handles(model)`` is true unless told ``flavor=...``: plugins'
    flavors are tried before the built-in ``sklearn`` and ``pytorch``, and the generic
    ``python_function`` comes last. ``handles`` must be cheap and must not import a library
    the object cannot come from: check ``type(obj).__module__`` first.

    ``save(model, directory, options)`` writes the model's files into ``directory`` and
    returns the flavor's config (JSON-able; it goes into the manifest); ``options`` are the
    caller's ``flavor_options``. ``load(files, config)`` returns the model object: read files
    with ``files.read_bytes(name)``, which checks the bytes against the manifest's hash, or
    ``files.path(name)`` (already verified). ``predict(model, data)`` runs it on a pandas
    DataFrame, numpy array, list of dicts or dict of lists. ``requirements`` names the
    distributions whose installed versions are pinned in the model's requirements.
    """
    return ()


@hookspec
def flowtrack_run_context() -> dict[str, str] | None:
    """Return tags that describe where the code runs, added to every new run.

    Called once per run start, in the process that starts it, so it must be fast. The
    built-in context plugins add ``flowtrack.git.commit``, ``flowtrack.git.dirty``,
    ``flowtrack.host``, ``flowtrack.user`` and ``flowtrack.python``. A user's own tags win over
    these when both set the same key.
    """
    return None


@hookspec
def flowtrack_current_run() -> RunState | None:
    """Return the run that code with no active run of its own logs to, or None.

    Asked by every logging call made while no run is active in the calling context (before
    ``FLOWTRACK_RUN_ID`` is looked at), so it must be fast and return None unless the process
    is inside something the plugin records as a run: the Spark adapter returns the Spark
    application's run in a PySpark driver, so ``flowtrack.log_metric`` there lands in it.
    ``start_run()`` attaches to that run as to one handed down through ``FLOWTRACK_RUN_ID``
    (and ``start_run(nested=True)`` makes a child of it). The plugin makes sure the run exists
    (a ``create_run`` event of a fixed id is harmless twice) and returns it with
    ``owned=False``, so nothing here ends it. The first plugin that returns a run wins.
    """
    return None


@hookspec
def flowtrack_sync(dry_run: bool) -> Sequence[str]:
    """``flowtrack sync`` is running: deliver what the plugin spooled in its own format.

    Called before the journals are delivered, so events the plugin turns into flowtrack events
    here (through the writer) are delivered by the same command. Returns lines to print, one
    per thing done or waiting; with ``dry_run`` it only says what is waiting.
    """
    return ()

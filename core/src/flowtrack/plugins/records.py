"""Typed records that registration hooks return."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import click

    from flowtrack.artifacts.base import ArtifactStore
    from flowtrack.models.files import ModelFiles
    from flowtrack.store.base import TrackingStore


@dataclass(frozen=True, slots=True)
class StoreSpec:
    name: str
    schemes: tuple[str, ...]
    factory: Callable[[str], TrackingStore]


@dataclass(frozen=True, slots=True)
class ArtifactStoreSpec:
    name: str
    schemes: tuple[str, ...]
    factory: Callable[[str], ArtifactStore]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    command: click.Command


@dataclass(frozen=True, slots=True)
class SerializerSpec:
    """How to write a Python object to a file so it can be versioned as a run's output.

    ``handles(obj)`` says whether this serializer takes ``obj`` (it must be cheap and must not
    import heavy libraries); ``write(obj, path)`` writes it to ``path``, whose name ends with
    ``suffix`` (".json", ".parquet" ...).
    """

    name: str
    handles: Callable[[object], bool]
    suffix: str
    write: Callable[[object, Path], None]


@dataclass(frozen=True, slots=True)
class FlavorSpec:
    """One way to write a model into a model directory and read it back (docs/models.md).

    ``handles(model)`` says whether this flavor takes ``model`` (cheap; it must not import a
    heavy library unless ``type(model).__module__`` says the object comes from it).
    ``save(model, directory, options)`` writes the model's files into ``directory`` and
    returns the flavor's config (JSON-able), stored in the manifest; ``options`` are the
    caller's ``flavor_options``. ``load(files, config)`` returns the model object, reading only
    through ``files`` (hash-checked). ``predict(model, data)`` runs it on a DataFrame, array,
    list of dicts or dict of lists. ``requirements`` are distribution names whose installed
    versions are pinned in the model's requirements.
    """

    name: str
    handles: Callable[[object], bool]
    save: Callable[[object, Path, Mapping[str, Any]], dict[str, Any]]
    load: Callable[[ModelFiles, Mapping[str, Any]], object]
    predict: Callable[[object, Any], Any]
    requirements: tuple[str, ...] = ()

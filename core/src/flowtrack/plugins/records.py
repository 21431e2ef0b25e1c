"""Typed records that registration hooks return."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

    from flowtrack.artifacts.base import ArtifactStore
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

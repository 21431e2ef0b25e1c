"""Typed records that registration hooks return."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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

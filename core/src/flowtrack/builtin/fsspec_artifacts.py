"""Built-in plugin: the fsspec artifact store, the fallback for every artifact URL."""

from __future__ import annotations

from collections.abc import Sequence

from flowtrack.hookspecs import hookimpl
from flowtrack.plugins.records import ArtifactStoreSpec


def _factory(root_uri: str):  # type: ignore[no-untyped-def]
    from flowtrack.artifacts.fsspec_store import FsspecArtifactStore

    return FsspecArtifactStore(root_uri)


@hookimpl
def flowtrack_register_artifact_stores() -> Sequence[ArtifactStoreSpec]:
    return [ArtifactStoreSpec("fsspec", ("*",), _factory)]

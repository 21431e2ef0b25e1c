"""Built-in plugin: the REST store (``http://`` and ``https://`` tracking URIs) and the artifact
store of the server's artifact proxy."""

from __future__ import annotations

from collections.abc import Sequence

from flowtrack.artifacts.base import ArtifactStore
from flowtrack.hookspecs import hookimpl
from flowtrack.plugins.records import ArtifactStoreSpec, StoreSpec
from flowtrack.store.base import TrackingStore


def _store(uri: str) -> TrackingStore:
    from flowtrack.store.rest.store import RestStore

    return RestStore(uri)


def _artifacts(root_uri: str) -> ArtifactStore:
    from flowtrack.store.rest.artifacts import RestArtifactStore, parse_proxy_uri

    if parse_proxy_uri(root_uri) is None:
        # Any other http(s) URL is fsspec's, as it would be without this plugin.
        from flowtrack.artifacts.fsspec_store import FsspecArtifactStore

        return FsspecArtifactStore(root_uri)
    return RestArtifactStore(root_uri)


@hookimpl
def flowtrack_register_stores() -> Sequence[StoreSpec]:
    return [StoreSpec("rest", ("http", "https"), _store)]


@hookimpl
def flowtrack_register_artifact_stores() -> Sequence[ArtifactStoreSpec]:
    return [ArtifactStoreSpec("rest_artifacts", ("http", "https"), _artifacts)]

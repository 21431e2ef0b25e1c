"""Finding the store for a tracking URI and the artifact store for a run, through plugins."""

from __future__ import annotations

import threading
from urllib.parse import urlparse

from flowtrack.artifacts.base import ArtifactStore
from flowtrack.errors import InvalidInputError
from flowtrack.plugins import facade
from flowtrack.store.base import TrackingStore

_stores: dict[str, TrackingStore] = {}
_lock = threading.Lock()


def _scheme(uri: str) -> str:
    return urlparse(uri).scheme.split("+", 1)[0]


def get_store(uri: str) -> TrackingStore:
    """The store for ``uri``, built once per process (it holds a connection pool)."""
    store = _stores.get(uri)
    if store is not None:
        return store
    with _lock:
        store = _stores.get(uri)
        if store is None:
            scheme = _scheme(uri)
            specs = [s for s in facade.stores() if scheme in s.schemes]
            if not specs:
                known = sorted({s for spec in facade.stores() for s in spec.schemes})
                raise InvalidInputError(
                    "tracking URI",
                    uri,
                    f"no store handles the scheme {scheme!r} (known: {', '.join(known)}); "
                    "install the plugin that provides it",
                )
            store = specs[0].factory(uri)
            _stores[uri] = store
    return store


def forget_stores() -> None:
    """Close every cached store (tests, and after a fork)."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()


def get_artifact_store(root_uri: str) -> ArtifactStore:
    scheme = _scheme(root_uri) or "file"
    specs = facade.artifact_stores()
    for spec in specs:
        if scheme in spec.schemes:
            return spec.factory(root_uri)
    for spec in specs:
        if "*" in spec.schemes:
            return spec.factory(root_uri)
    raise InvalidInputError("artifact URI", root_uri, "no artifact store plugin handles it")

"""The stand-in API server (tests/k8s/apiserver.py: no real one can run on these machines),
started once per test module, and watchers running against it in threads.

Each test watches its own namespace, so the Jobs of one test are invisible to the others'
watchers; each test has its own flowtrack store (the autouse ``ft_home`` fixture).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.k8s.apiserver import Cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with Cluster(bookmark_interval=0.5) as running:
        yield running


@pytest.fixture
def namespace() -> str:
    return f"ns-{uuid.uuid4().hex[:8]}"


WatcherFactory = Callable[..., "Running"]


class Running:
    """A watcher on its own thread; `stop` ends it as SIGTERM would."""

    def __init__(self, watcher: object, thread: threading.Thread) -> None:
        self.watcher = watcher
        self.thread = thread

    def stop(self) -> None:
        self.watcher.stop()  # type: ignore[attr-defined]
        self.thread.join(30)
        assert not self.thread.is_alive(), "the watcher did not stop"


@pytest.fixture
def start_watcher(cluster: Cluster, namespace: str) -> Iterator[WatcherFactory]:
    from flowtrack_k8s.watcher import Settings, Watcher

    started: list[Running] = []

    def start(**overrides: object) -> Running:
        settings = Settings(
            namespace=namespace,
            host=cluster.url,
            lease_namespace=namespace,
            lease_duration_s=3,
            renew_s=0.5,
            backoff_cap_s=1.0,
            watch_timeout_s=30,
        )
        for key, value in overrides.items():
            setattr(settings, key, value)
        watcher = Watcher(settings)
        thread = threading.Thread(target=watcher.run, daemon=True)
        thread.start()
        running = Running(watcher, thread)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.thread.is_alive():
            running.stop()

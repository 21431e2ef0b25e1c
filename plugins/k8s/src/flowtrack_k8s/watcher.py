"""`flowtrack k8s watch`: leader election, three informers, one recorder.

The replica holding the Lease runs informers for the labelled Jobs, for Jobs' pods and for
Warning events (one namespace or all), and feeds what they see, in order, to the `Recorder` on
its own thread. It renews the Lease every few seconds; if another replica took it (or it could
not renew it for a whole lease duration) it stops recording and goes back to waiting.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from flowtrack_k8s import annotations as ann
from flowtrack_k8s.kube import Feed, Informer, api_client
from flowtrack_k8s.lease import Lease
from flowtrack_k8s.recorder import CLOSE_GRACE_S, LOG_MAX_BYTES, Recorder

log = logging.getLogger("flowtrack.k8s")

POD_SELECTOR = "batch.kubernetes.io/controller-uid"  # pods a Job controller made
QUEUE_SIZE = 1000  # objects seen and not recorded yet, at most


@dataclass
class Settings:
    namespace: str | None = None  # None: all namespaces
    host: str | None = None  # API server address without credentials (tests); else kubeconfig
    kubeconfig: str | None = None
    lease_namespace: str = "default"
    lease_name: str = "flowtrack-k8s-watch"
    identity: str | None = None
    lease_duration_s: int = 15
    renew_s: float = 5.0
    leader_election: bool = True
    backoff_cap_s: float = 30.0
    watch_timeout_s: int = 300
    log_max_bytes: int = LOG_MAX_BYTES
    close_grace_s: float = CLOSE_GRACE_S


class Watcher:
    """Run with `run()` (blocks until `stop()`); `leading` says whether it records now."""

    def __init__(self, settings: Settings) -> None:
        from kubernetes.client import BatchV1Api, CoreV1Api

        self.settings = settings
        self.client = api_client(settings.host, settings.kubeconfig)
        self.batch = BatchV1Api(self.client)
        self.core = CoreV1Api(self.client)
        self.stop_event = threading.Event()
        self.leading = threading.Event()
        self.lease = Lease(
            self.client,
            settings.lease_namespace,
            settings.lease_name,
            settings.identity,
            settings.lease_duration_s,
        )
        self.informers: list[Informer] = []
        self.feed: Feed | None = None
        self.recorder = self._recorder()

    def stop(self) -> None:
        self.stop_event.set()

    def _recorder(self) -> Recorder:
        return Recorder(
            self.core,
            self.settings.log_max_bytes,
            self._caught_up,
            self.settings.close_grace_s,
            self.settings.namespace,
        )

    def _caught_up(self, version: str) -> int | None:
        """None until the pod and event streams have handed over everything up to ``version``
        (bookmarks move them on when nothing happens); then how many items the informers had
        put in the queue: once the recorder has handled that many, it has seen them all.
        Kubernetes calls resourceVersions opaque, but they are etcd revisions in practice;
        anything else just waits for the grace period."""
        mark = self.feed.put_count if self.feed is not None else 0
        try:
            wanted = int(version)
            others = [i for i in self.informers if i.resource != "jobs"]
            return mark if all(int(i.version or 0) >= wanted for i in others) else None
        except ValueError:
            return None

    def _calls(self) -> dict[str, tuple[Any, str | None, str | None]]:
        ns = self.settings.namespace

        def scoped(all_ns: Any, namespaced: Any) -> Any:
            if ns is None:
                return all_ns
            return lambda **kw: namespaced(ns, **kw)

        return {
            "jobs": (
                scoped(self.batch.list_job_for_all_namespaces, self.batch.list_namespaced_job),
                ann.SELECTOR,
                None,
            ),
            "pods": (
                scoped(self.core.list_pod_for_all_namespaces, self.core.list_namespaced_pod),
                POD_SELECTOR,
                None,
            ),
            "events": (
                scoped(self.core.list_event_for_all_namespaces, self.core.list_namespaced_event),
                None,
                "type=Warning",
            ),
        }

    def _acquire(self) -> bool:
        if not self.settings.leader_election:
            return True
        try:
            return self.lease.acquire()
        except Exception as exc:  # API down: not the leader now, ask again later
            log.warning("flowtrack: lease %s not acquired: %s", self.settings.lease_name, exc)
            return False

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                if not self._acquire():
                    self.stop_event.wait(self.settings.renew_s)
                    continue
                log.info("flowtrack: %s records Jobs now", self.lease.identity)
                self._lead()
        finally:
            if self.settings.leader_election:
                self.lease.release()
            from flowtrack.tracking.writer import flush_all

            flush_all(5.0)

    def _lead(self) -> None:
        self.feed = feed = Feed(QUEUE_SIZE)
        stop = threading.Event()
        self.informers = [
            Informer(
                resource,
                call,
                feed,
                stop,
                labels,
                fields,
                self.settings.backoff_cap_s,
                self.settings.watch_timeout_s,
            )
            for resource, (call, labels, fields) in self._calls().items()
        ]
        # Jobs first, so their pods and events find them; the recorder also keeps early pods.
        for informer in self.informers:
            informer.start()
        self.leading.set()
        renewed = time.monotonic()
        next_renew = renewed + self.settings.renew_s
        try:
            while not self.stop_event.is_set():
                try:
                    resource, kind, obj = feed.queue.get(timeout=0.2)
                except queue.Empty:
                    pass
                else:
                    self.recorder.handle(resource, kind, obj)
                self.recorder.tick()
                if self.settings.leader_election and time.monotonic() >= next_renew:
                    next_renew = time.monotonic() + self.settings.renew_s
                    try:
                        if not self.lease.acquire():
                            log.warning("flowtrack: another replica holds the lease; stepping down")
                            return
                        renewed = time.monotonic()
                    except Exception as exc:
                        if time.monotonic() - renewed > self.settings.lease_duration_s:
                            log.warning("flowtrack: lease not renewed (%s); stepping down", exc)
                            return
        finally:
            self.leading.clear()
            for informer in self.informers:
                informer.stop()
            # What was recorded stays; a new term relists and the recorder is idempotent.
            self.recorder = self._recorder()

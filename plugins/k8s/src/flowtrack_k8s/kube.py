"""List-then-watch of one resource through the kubernetes client, robust to a real server.

An `Informer` thread lists (paged), hands every object on as ``SYNC``, then watches from the
list's resourceVersion with bookmarks, remembering the newest version it has seen. When the
stream ends (server timeout, dropped connection) it watches again from that version; when the
server answers 410 Gone (the version was compacted away) it lists again; when the server is
down or answers an error it retries with exponential backoff (capped), so the watcher rides out
API server restarts without missing or repeating a change: a change it might have missed is
in the next list, and the recorder is idempotent.

Objects travel as plain dicts (JSON straight from the wire): the watcher reads a few fields
of thousands of objects, and building the client's pydantic models for each would cost more
than everything else it does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

log = logging.getLogger("flowtrack.k8s")

Obj = dict[str, Any]
# What informers put on the recorder's queue: (resource, event type, object or list of them).
Item = tuple[str, str, Any]

WATCH_TIMEOUT_S = 300  # the server ends each watch after this; it is then resumed
PAGE_SIZE = 500


class Feed:
    """The bounded queue from the informers to the recorder, counting what went in.

    Bounded: a recorder that falls behind slows the streams down (TCP backpressure) instead of
    holding thousands of objects in memory. ``put_count`` lets the recorder know when it has
    handled everything an informer had handed over at some moment (`Informer.version` moves
    only after the object is in the queue)."""

    def __init__(self, maxsize: int) -> None:
        self.queue: queue.Queue[Item] = queue.Queue(maxsize=maxsize)
        self.lock = threading.Lock()
        self.put_count = 0

    def put(self, item: Item, stop: threading.Event) -> None:
        with self.lock:  # the count and the queue's order agree
            while not stop.is_set():
                try:
                    self.queue.put(item, timeout=0.5)
                except queue.Full:
                    continue
                self.put_count += 1
                return


class Gone(Exception):
    """The server no longer has the resourceVersion asked for (410): list again."""


def api_client(host: str | None = None, kubeconfig: str | None = None) -> ApiClient:
    """A client for ``host`` (no credentials: the tests' stand-in), else the in-cluster
    service account, else the kubeconfig (``kubeconfig`` or $KUBECONFIG or ~/.kube/config)."""
    from kubernetes import config

    if host:
        cfg = Configuration()
        cfg.host = host
        return ApiClient(cfg)
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    return ApiClient()


@dataclass
class Backoff:
    """Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... up to ``cap``."""

    base: float = 0.5
    cap: float = 30.0
    attempt: int = 0

    def next(self) -> float:
        delay = min(self.cap, self.base * float(2**self.attempt))
        self.attempt += 1
        return delay * random.uniform(0.8, 1.2)  # noqa: S311  (jitter, not a secret)

    def reset(self) -> None:
        self.attempt = 0


class Informer(threading.Thread):
    """Lists and watches one resource, putting (resource, type, object) on ``out``."""

    def __init__(
        self,
        resource: str,
        call: Callable[..., Any],
        out: Feed,
        stop: threading.Event,
        label_selector: str | None = None,
        field_selector: str | None = None,
        backoff_cap: float = 30.0,
        watch_timeout: int = WATCH_TIMEOUT_S,
    ) -> None:
        super().__init__(name=f"flowtrack-k8s-{resource}", daemon=True)
        self.resource = resource
        self.call = call
        self.out = out
        self.stop_event = stop
        self.selectors = {
            k: v
            for k, v in (("label_selector", label_selector), ("field_selector", field_selector))
            if v
        }
        self.backoff = Backoff(cap=backoff_cap)
        self.watch_timeout = watch_timeout
        self.version: str | None = None
        self.lists = 0  # how many times it listed (the first, and after each 410)
        self.bookmarks = 0
        self._resp: Any = None

    def stop(self) -> None:
        self.stop_event.set()
        resp = self._resp
        sock = getattr(getattr(resp, "connection", None), "sock", None)
        if sock is not None:  # unblock a read waiting on the stream
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                if self.version is None:
                    self._list()
                self._watch()
                self.backoff.reset()  # a watch that ended normally: resume at once
            except Gone:
                log.info("flowtrack: %s: resourceVersion %s expired; listing again", *self._at())
                self.version = None
            except Exception as exc:  # down, dropped, refused, 5xx: all retried
                if self.stop_event.is_set():
                    break
                delay = self.backoff.next()
                log.warning(
                    "flowtrack: %s watch failed (%s: %s); retrying in %.1f s",
                    self.resource,
                    type(exc).__name__,
                    str(exc).splitlines()[0][:200] if str(exc) else "",
                    delay,
                )
                if isinstance(exc, ApiException) and exc.status == 410:
                    self.version = None
                self.stop_event.wait(delay)

    def _at(self) -> tuple[str, str | None]:
        return self.resource, self.version

    def _list(self) -> None:
        items: list[Obj] = []
        token: str | None = None
        while True:
            extra = {"_continue": token} if token else {}
            resp = self.call(
                limit=PAGE_SIZE,
                _preload_content=False,
                _request_timeout=(5, 60),
                **self.selectors,
                **extra,
            )
            try:
                body = json.loads(resp.data)
            finally:
                resp.release_conn()
            items.extend(body.get("items") or [])
            meta = body.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                break
        self.lists += 1
        self.out.put((self.resource, "SYNC", items), self.stop_event)
        self.version = str(meta.get("resourceVersion") or "") or None

    def _watch(self) -> None:
        resp = self.call(
            watch=True,
            resource_version=self.version,
            allow_watch_bookmarks=True,
            timeout_seconds=self.watch_timeout,
            _preload_content=False,
            _request_timeout=(5, self.watch_timeout + 30),
            **self.selectors,
        )
        self._resp = resp
        try:
            for line in iter_resp_lines(resp):  # type: ignore[no-untyped-call]
                if self.stop_event.is_set():
                    return
                if not line:
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise Gone(obj.get("message", ""))
                    raise ApiException(status=obj.get("code"), reason=obj.get("message"))
                if kind == "BOOKMARK":
                    self.bookmarks += 1
                else:
                    self.backoff.reset()
                    self.out.put((self.resource, str(kind), obj), self.stop_event)
                version = (obj.get("metadata") or {}).get("resourceVersion")
                if version:  # after the put: the version says what is in the queue
                    self.version = str(version)
        finally:
            self._resp = None
            resp.release_conn()

"""A stand-in Kubernetes API server for the watcher's tests and benchmark.

No Kubernetes API server can run on these machines (no kube-apiserver, envtest or kwok
binaries are installable), so this small threaded HTTP server speaks the real REST paths and
the real streaming-watch protocol to the real ``kubernetes`` client:

* lists and watches of Jobs (``/apis/batch/v1/[namespaces/NS/]jobs``), Pods and Events
  (``/api/v1/[namespaces/NS/]pods|events``) with ``labelSelector`` / ``fieldSelector``;
* ``?watch=true``: chunked JSON lines ``{"type": ..., "object": ...}`` from the given
  ``resourceVersion`` (replayed from a history), ``allowWatchBookmarks`` (BOOKMARK events),
  ``timeoutSeconds``, and ``410 Gone`` (an ERROR event with a Status, as the real server
  sends) when the version is older than the compacted history;
* pod logs (``/api/v1/namespaces/NS/pods/NAME/log`` with ``container`` and ``tailLines``);
* Leases (``/apis/coordination.k8s.io/v1/namespaces/NS/leases``): get, create, replace with
  optimistic concurrency (409 Conflict on a stale resourceVersion);
* faults: `drop_watches` (cut every open stream), `down` / `up` (stop listening, then listen
  again on the same port), `compact` (old versions answer 410), `forbid` (403 on a path).

kmock (PyPI) was looked at first: it streams watches, but its resourceVersion is a fixed
placeholder and it has no history to resume from, no 410 and no outage, which is what the
watcher's tests are about.

Objects are complete (the kubernetes 37 client validates responses with pydantic models), and
`Cluster` has helpers (tests/k8s/workloads.py) that play the Job controller and the kubelet:
create a Job, start pods, end them with exit codes and reasons, write Warning events, finish
the Job.
"""

from __future__ import annotations

import contextlib
import copy
import json
import queue
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.k8s.workloads import Workloads, now

Obj = dict[str, Any]

_KINDS = {
    "jobs": ("batch/v1", "Job"),
    "pods": ("v1", "Pod"),
    "events": ("v1", "Event"),
    "leases": ("coordination.k8s.io/v1", "Lease"),
}
_PATH = re.compile(
    r"^/(?:api/v1|apis/batch/v1|apis/coordination\.k8s\.io/v1)"
    r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<res>jobs|pods|events|leases)"
    r"(?:/(?P<name>[^/]+))?(?P<log>/log)?$"
)


def status(code: int, reason: str, message: str) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _selector_matches(selector: str, labels: dict[str, str]) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _field(obj: Obj, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def _fields_match(selector: str, obj: Obj) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        key, _, value = term.replace("==", "=").partition("=")
        if _field(obj, key) != value:
            return False
    return True


class _Watch:
    """One open watch stream: its filter and the queue the server feeds."""

    def __init__(self, res: str, ns: str | None, labels: str, fields: str) -> None:
        self.res, self.ns, self.labels, self.fields = res, ns, labels, fields
        self.events: queue.Queue[tuple[int, str, Obj] | None] = queue.Queue()

    def wants(self, res: str, obj: Obj) -> bool:
        meta = obj["metadata"]
        return (
            res == self.res
            and (self.ns is None or meta.get("namespace") == self.ns)
            and _selector_matches(self.labels, meta.get("labels") or {})
            and _fields_match(self.fields, obj)
        )


class Cluster(Workloads):
    """The stand-in's state and HTTP server. ``with Cluster() as cluster:`` serves on a free
    port of 127.0.0.1; ``cluster.url`` is its address."""

    def __init__(self, bookmark_interval: float = 1.0, history_limit: int = 200_000) -> None:
        self.lock = threading.RLock()
        self.rv = 100
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.history: list[tuple[int, str, str, Obj]] = []  # (rv, res, type, object)
        self.history_limit = history_limit
        self.compacted = 0  # versions up to this one are gone: watching from them is 410
        self.watches: set[_Watch] = set()
        self.logs: dict[tuple[str, str, str], str] = {}
        self.forbidden: list[re.Pattern[str]] = []
        self.bookmark_interval = bookmark_interval
        self.requests: list[str] = []
        self._conns: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- serving -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        """Listen (again, on the same port after `down`)."""
        handler = type("Handler", (_Handler,), {"cluster": self})
        server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Stop listening and cut every connection, as an API server that went away."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        self.drop_watches()

    def drop_watches(self) -> None:
        """Cut every open connection (watch streams and idle keep-alive ones)."""
        with self.lock:
            for watch in self.watches:
                watch.events.put(None)
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Cluster:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def compact(self) -> None:
        """Forget the history: a watch from any version before now gets 410 Gone."""
        with self.lock:
            self.rv += 1  # as etcd: compaction at revision C refuses every version before C
            self.compacted = self.rv
            self.history.clear()

    def forbid(self, pattern: str) -> None:
        """Answer 403 Forbidden to every request whose path matches ``pattern``."""
        self.forbidden.append(re.compile(pattern))

    # -- objects ---------------------------------------------------------------------------

    def _put(self, res: str, obj: Obj, kind: str) -> Obj:
        with self.lock:
            self.rv += 1
            meta = obj["metadata"]
            meta["resourceVersion"] = str(self.rv)
            key = (res, meta.get("namespace", ""), meta["name"])
            if kind == "DELETED":
                self.objects.pop(key, None)
            else:
                self.objects[key] = obj
            snapshot = copy.deepcopy(obj)
            self.history.append((self.rv, res, kind, snapshot))
            if len(self.history) > self.history_limit:
                drop = len(self.history) - self.history_limit
                self.compacted = self.history[drop - 1][0]
                del self.history[:drop]
            for watch in self.watches:
                if watch.wants(res, snapshot):
                    watch.events.put((self.rv, kind, snapshot))
            return snapshot

    def get(self, res: str, ns: str, name: str) -> Obj | None:
        with self.lock:
            found = self.objects.get((res, ns, name))
            return copy.deepcopy(found) if found else None

    def _list(self, res: str, ns: str | None, labels: str, fields: str) -> tuple[int, list[Obj]]:
        probe = _Watch(res, ns, labels, fields)
        with self.lock:
            items = [
                copy.deepcopy(o)
                for (r, _, _), o in self.objects.items()
                if r == res and probe.wants(res, o)
            ]
            return self.rv, items

    def _subscribe(
        self, res: str, ns: str | None, labels: str, fields: str, since: str | None
    ) -> _Watch | Obj:
        watch = _Watch(res, ns, labels, fields)
        with self.lock:
            if since in (None, "", "0"):  # no version: the current state first, as ADDED
                for (r, _, _), o in self.objects.items():
                    if r == res and watch.wants(res, o):
                        watch.events.put((self.rv, "ADDED", copy.deepcopy(o)))
            else:
                try:
                    start = int(since or 0)
                except ValueError:
                    return status(400, "BadRequest", f"invalid resourceVersion {since!r}")
                if start < self.compacted:
                    return status(
                        410, "Expired", f"too old resource version: {start} ({self.compacted})"
                    )
                for rv, r, kind, o in self.history:
                    if rv > start and watch.wants(r, o):
                        watch.events.put((rv, kind, o))
            self.watches.add(watch)
        return watch

    def _unsubscribe(self, watch: _Watch) -> None:
        with self.lock:
            self.watches.discard(watch)

    def lease(self, namespace: str, name: str) -> Obj | None:
        return self.get("leases", namespace, name)


class _Handler(BaseHTTPRequestHandler):
    cluster: Cluster
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, each keep-alive request would
    # wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        with self.cluster.lock:
            self.cluster._conns.add(self.connection)

    def finish(self) -> None:
        with self.cluster.lock:
            self.cluster._conns.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _send(self, code: int, body: Obj | str, content_type: str = "application/json") -> None:
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Obj:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _route(self) -> tuple[re.Match[str] | None, dict[str, str]]:
        parts = urlsplit(self.path)
        self.cluster.requests.append(f"{self.command} {parts.path}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        for pattern in self.cluster.forbidden:
            if pattern.search(parts.path):
                self._send(403, status(403, "Forbidden", f"forbidden: {parts.path}"))
                return None, query
        match = _PATH.match(parts.path)
        if match is None:
            self._send(404, status(404, "NotFound", f"no route {parts.path}"))
        return match, query

    def do_GET(self) -> None:
        match, query = self._route()
        if match is None:
            return
        res, ns, name = match["res"], match["ns"], match["name"]
        if match["log"]:
            return self._log(ns or "", name or "", query)
        if name:
            found = self.cluster.get(res, ns or "", name)
            if found is None:
                return self._send(404, status(404, "NotFound", f'{res} "{name}" not found'))
            return self._send(200, found)
        labels, fields = query.get("labelSelector", ""), query.get("fieldSelector", "")
        if query.get("watch") in ("true", "1"):
            return self._watch(res, ns, labels, fields, query)
        rv, items = self.cluster._list(res, ns, labels, fields)
        api, kind = _KINDS[res]
        self._send(
            200,
            {
                "apiVersion": api,
                "kind": kind + "List",
                "metadata": {"resourceVersion": str(rv)},
                "items": items,
            },
        )

    def _log(self, ns: str, name: str, query: dict[str, str]) -> None:
        pod = self.cluster.get("pods", ns, name)
        if pod is None:
            return self._send(404, status(404, "NotFound", f'pods "{name}" not found'))
        container = query.get("container") or pod["spec"]["containers"][0]["name"]
        text = self.cluster.logs.get((ns, name, container), "")
        tail = query.get("tailLines")
        if tail is not None:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-int(tail) :]) if int(tail) > 0 else ""
        self._send(200, text, "text/plain")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _watch(self, res: str, ns: str | None, labels: str, fields: str, q: dict[str, str]) -> None:
        cluster = self.cluster
        sub = cluster._subscribe(res, ns, labels, fields, q.get("resourceVersion"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if isinstance(sub, dict):  # 410 Gone, streamed as the real server does
            self._chunk(json.dumps({"type": "ERROR", "object": sub}).encode() + b"\n")
            self._chunk(b"")
            return
        api, kind = _KINDS[res]
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        deadline = time.monotonic() + float(q.get("timeoutSeconds") or 1800)
        next_bookmark = time.monotonic() + cluster.bookmark_interval
        try:
            for found in self._lines(sub, deadline):
                line = found
                if line is None:
                    if not bookmarks or time.monotonic() < next_bookmark:
                        continue
                    next_bookmark = time.monotonic() + cluster.bookmark_interval
                    mark = {"kind": kind, "apiVersion": api}
                    mark["metadata"] = {"resourceVersion": str(cluster.rv)}
                    line = json.dumps({"type": "BOOKMARK", "object": mark}).encode()
                self._chunk(line + b"\n")
            self._chunk(b"")
        except OSError:  # the client went away, or `drop_watches` cut the stream
            self.close_connection = True
        finally:
            cluster._unsubscribe(sub)

    def _lines(self, sub: _Watch, deadline: float) -> Iterator[bytes | None]:
        """Event lines; None when idle (a chance for a bookmark); ends at the deadline or when
        the stream is dropped."""
        while time.monotonic() < deadline:
            try:
                item = sub.events.get(timeout=0.2)
            except queue.Empty:
                yield None
                continue
            if item is None:
                raise OSError("dropped")
            _, kind, obj = item
            yield json.dumps({"type": kind, "object": obj}).encode()

    def do_POST(self) -> None:
        match, _ = self._route()
        if match is None:
            return
        if match["res"] != "leases" or match["name"]:
            return self._send(405, status(405, "MethodNotAllowed", "only leases are created"))
        body = self._body()
        ns, name = match["ns"] or "", body["metadata"]["name"]
        with self.cluster.lock:
            if self.cluster.get("leases", ns, name) is not None:
                msg = f'leases.coordination.k8s.io "{name}" already exists'
                return self._send(409, status(409, "AlreadyExists", msg))
            body["metadata"].update(namespace=ns, uid=str(uuid.uuid4()), creationTimestamp=now())
            body.setdefault("apiVersion", "coordination.k8s.io/v1")
            body.setdefault("kind", "Lease")
            created = self.cluster._put("leases", body, "ADDED")
        self._send(201, created)

    def do_PUT(self) -> None:
        match, _ = self._route()
        if match is None:
            return
        if match["res"] != "leases" or not match["name"]:
            return self._send(405, status(405, "MethodNotAllowed", "only leases are replaced"))
        body = self._body()
        ns, name = match["ns"] or "", match["name"]
        with self.cluster.lock:
            current = self.cluster.get("leases", ns, name)
            if current is None:
                return self._send(404, status(404, "NotFound", f'leases "{name}" not found'))
            sent = body.get("metadata", {}).get("resourceVersion")
            if sent != current["metadata"]["resourceVersion"]:
                msg = "the object has been modified; please apply your changes to the latest"
                return self._send(409, status(409, "Conflict", msg))
            body["metadata"] = {**current["metadata"], **body["metadata"]}
            body.setdefault("apiVersion", "coordination.k8s.io/v1")
            body.setdefault("kind", "Lease")
            updated = self.cluster._put("leases", body, "MODIFIED")
        self._send(200, updated)


def produce(cluster: Cluster, jobs: int, pods: int, namespace: str = "bench") -> None:
    """``jobs`` Jobs, each with ``pods`` attempts (all but the last fail) and one Warning."""
    for n in range(jobs):
        job = cluster.create_job(f"bench-{n}", namespace, backoff_limit=pods)
        for attempt in range(pods):
            pod = cluster.start_pod(job)
            last = attempt == pods - 1
            cluster.end_pod(pod, 0 if last else 1, log=f"attempt {attempt}\n" * 20)
        cluster.warning(job, "BackoffLimitApproaching", "retried")
        cluster.finish_job(job)


def main() -> None:
    """Serve on a free port (printed as the first line); on "go JOBS PODS" on stdin, play
    that many Job lifecycles and print "done"; end on EOF. The benchmark's separate process."""
    import sys

    with Cluster(history_limit=1_000_000) as cluster:
        print(cluster.port, flush=True)
        for line in sys.stdin:
            parts = line.split()
            if parts[:1] == ["go"]:
                started = time.perf_counter()
                produce(cluster, int(parts[1]), int(parts[2]))
                print(f"done {time.perf_counter() - started:.3f}", flush=True)


if __name__ == "__main__":
    main()

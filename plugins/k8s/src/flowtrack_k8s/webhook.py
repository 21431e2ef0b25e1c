"""``flowtrack k8s webhook``: a mutating admission webhook that hands tracked Jobs their run.

The API server POSTs an AdmissionReview (admission.k8s.io/v1) to ``/mutate`` for every Job
created with the label ``flowtrack.dev/track: "true"`` (the MutatingWebhookConfiguration's
objectSelector); the answer admits the Job with a JSONPatch from `flowtrack_k8s.patch`. Pods
with the label come too: those of Indexed Jobs get their index's run (`flowtrack_k8s.indexed`).

It never stands in a Job's way: whatever goes wrong (a malformed review, an object it does not
understand, a bug) is logged and answered ``allowed: true`` without a patch, and the manifest
says ``failurePolicy: Ignore`` for the cases it cannot answer at all (down, too slow, a body
over the size limit). Only the standard library serves it: TLS from ``ssl`` (the certificate
is reloaded when its files change), one thread per connection, each with a socket timeout so
a stalled client holds only its own thread.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import ssl
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flowtrack_k8s.indexed import pod_injection
from flowtrack_k8s.patch import Target, job_injection

log = logging.getLogger("flowtrack.k8s.webhook")

# An AdmissionReview carries the object (a Job below etcd's 1.5 MiB limit) and some request
# fields; anything much larger is not a review.
DEFAULT_MAX_BODY = 3 * 1024 * 1024
DEFAULT_TIMEOUT_S = 10.0
# Connections served at once; more are closed unread (each may hold a body of max_body).
DEFAULT_MAX_CONNECTIONS = 64
# How often the certificate files are checked for a renewal (cert-manager, a rotated Secret).
DEFAULT_RELOAD_S = 30.0
# kubectl shows admission warnings; the API server truncates long ones.
_MAX_WARNING = 120


def review_response(uid: str, ops: list[dict[str, Any]], warnings: list[str]) -> dict[str, Any]:
    response: dict[str, Any] = {"uid": uid, "allowed": True}
    if ops:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(ops).encode()).decode()
    if warnings:
        response["warnings"] = [w[:_MAX_WARNING] for w in warnings]
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}


def _request_uid(review: Any) -> str:
    request = review.get("request") if isinstance(review, dict) else None
    uid = request.get("uid") if isinstance(request, dict) else None
    return uid if isinstance(uid, str) else ""


def mutate(review: Any, target: Target) -> dict[str, Any]:
    """The AdmissionReview answering ``review``: always allowed, patched for tracked Jobs
    (and the pods of tracked Indexed Jobs)."""
    uid = _request_uid(review)
    try:
        if not uid:
            raise ValueError("not an AdmissionReview: no request.uid")
        request = review["request"]
        kind = request.get("kind") or {}
        group_kind = (kind.get("group"), kind.get("kind"))
        if group_kind not in (("batch", "Job"), ("", "Pod")):
            raise ValueError(f"request.kind {kind!r} is neither a batch Job nor a Pod")
        if request.get("operation") != "CREATE":
            return review_response(uid, [], [])
        obj = request.get("object")
        if not isinstance(obj, dict):
            raise ValueError("request.object is not an object")
        pod = group_kind == ("", "Pod")
        injection = pod_injection(obj) if pod else job_injection(obj, target)
        metadata = obj.get("metadata") or {}
        name = metadata.get("name") or metadata.get("generateName") or "-"
        where = f"{group_kind[1]} {request.get('namespace') or '-'}/{name}"
    except Exception as exc:  # never block a Job: admit it unchanged and say why
        log.error("flowtrack webhook: admitting request %r unchanged: %s", uid, exc)
        return review_response(uid, [], [])
    for note in injection.notes:
        log.warning("flowtrack webhook: %s: %s", where, note)
    if injection.run_id:
        log.info("flowtrack webhook: %s is run %s", where, injection.run_id)
    return review_response(uid, injection.ops, [f"flowtrack: {n}" for n in injection.notes])


class _Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    protocol_version = "HTTP/1.1"  # the API server keeps connections alive
    server_version = "flowtrack-webhook"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.timeout_s)
        # The TLS handshake runs here, in this connection's thread, under the timeout.
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("flowtrack webhook: %s " + format, self.address_string(), *args)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path in ("/healthz", "/readyz"):
            self._send(HTTPStatus.OK, b"ok\n", "text/plain")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != "/mutate":
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
            return
        try:
            length = int(self.headers.get("Content-Length") or "-1")
        except ValueError:
            length = -1
        if length < 0 or length > self.server.max_body:
            # Unread, the body cannot be answered: the API server's failurePolicy (Ignore)
            # admits the Job. The connection is closed so the body is never read.
            log.error(
                "flowtrack webhook: refused a request with Content-Length %s (limit %d); the "
                "API server admits the Job unchanged (failurePolicy: Ignore)",
                self.headers.get("Content-Length"),
                self.server.max_body,
            )
            self.close_connection = True
            status = (
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length > 0 else HTTPStatus.LENGTH_REQUIRED
            )
            self._send(status, b'{"error": "request body too large or without length"}\n')
            return
        raw = self.rfile.read(length)
        try:
            review: Any = json.loads(raw)
        except ValueError as exc:
            log.error("flowtrack webhook: admitting a request whose body is not JSON: %s", exc)
            review = None
        answer = mutate(review, self.server.target)
        self._send(HTTPStatus.OK, json.dumps(answer).encode())


class WebhookServer(ThreadingHTTPServer):
    """HTTPS server for ``/mutate`` and ``/healthz``; ``serve_forever`` runs it."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        cert: str,
        key: str,
        target: Target,
        max_body: int = DEFAULT_MAX_BODY,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        reload_s: float = DEFAULT_RELOAD_S,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.target = target
        self.max_body = max_body
        self.timeout_s = timeout_s
        self.cert_files = (cert, key)
        self.reload_s = reload_s
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stamp = self._files_stamp()
        self.tls = self._context()
        self._checked = time.monotonic()
        super().__init__(address, _Handler)

    def _files_stamp(self) -> tuple[int, ...]:
        # stat follows the symlinks a Secret volume swaps on update.
        return tuple(os.stat(p).st_mtime_ns for p in self.cert_files)

    def _context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(*self.cert_files)
        return context

    def _current_tls(self) -> ssl.SSLContext:
        """The TLS context, reloaded when the certificate files changed (checked every
        ``reload_s``); a pair that does not load (half written, mismatched) keeps the old one
        until a later check loads it. Only the accept loop calls this: no lock."""
        now = time.monotonic()
        if now - self._checked >= self.reload_s:
            self._checked = now
            try:
                stamp = self._files_stamp()
                if stamp != self._stamp:
                    self.tls = self._context()
                    self._stamp = stamp
                    log.warning("flowtrack webhook: certificate %s reloaded", self.cert_files[0])
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                log.error("flowtrack webhook: keeping the current certificate: %s", exc)
        return self.tls

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        # No handshake in the accept loop: a client that never speaks must not stall others.
        tls = self._current_tls()
        return tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.error(
                "flowtrack webhook: %d connections open, closing the one from %s unread (the "
                "API server admits the Job unchanged)",
                self.max_connections,
                client_address,
            )
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Failed handshakes, timeouts, resets: one line, not a traceback on stderr.
        exc = sys.exc_info()[1]
        log.warning("flowtrack webhook: connection from %s failed: %r", client_address, exc)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"https://{host!s}:{port}"

    def start(self) -> threading.Thread:
        """Serve in a daemon thread (for tests and embedding); ``shutdown()`` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="flowtrack-webhook", daemon=True)
        thread.start()
        return thread

"""Request hardening for the server, with or without ``--auth`` (docs/auth.md, "Hardening").

* Host header allow-list, against DNS rebinding: a web page on an attacker's domain that
  re-resolves to 127.0.0.1 reaches the server with its own domain in ``Host``. -> 400
* Cross-origin writes refused: a browser request whose ``Origin`` is neither this server nor an
  allowed CORS origin may not POST/PUT/PATCH/DELETE (a browser's cached Basic credentials must
  not be usable by another site). CORS itself is off unless origins are given. -> 403
* Body size limits: artifact uploads up to ``max_body_bytes``, everything else (JSON) up to
  ``max_json_body_bytes``; checked on Content-Length and while streaming. -> 413
* Security headers on every response: nosniff, X-Frame-Options, a Content-Security-Policy.
* `safe_artifact_path` for the artifact routes of both APIs: one check for every traversal trick
  of MLflow's CVE list. -> InvalidInputError (400)
* `location_inside` for the ``artifact_location`` of a new experiment (both APIs): it must lie
  within the server's artifacts destination, or a client could point the server's artifact
  routes at its own filesystem or another bucket. -> InvalidInputError (400)
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from starlette.exceptions import HTTPException

from flowtrack.errors import InvalidInputError
from flowtrack.validation import validate_artifact_path

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

GiB, MiB = 1 << 30, 1 << 20
DEFAULT_MAX_BODY = 1 * GiB
DEFAULT_MAX_JSON_BODY = 16 * MiB
# Paths that take large uploads: both APIs' artifact routes have an "artifacts" segment.
DEFAULT_LARGE_BODY_PATHS = r"/artifacts(/|$)|/mlflow-artifacts/"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
# Settings a server process reads from its environment (see docs/auth.md, "Hardening").
ENV = {
    "allowed_hosts": "FLOWTRACK_ALLOWED_HOSTS",
    "cors_origins": "FLOWTRACK_CORS_ALLOWED_ORIGINS",
    "max_body": "FLOWTRACK_MAX_BODY_SIZE",
    "max_json_body": "FLOWTRACK_MAX_JSON_BODY_SIZE",
}
_WILDCARD_BINDS = ("", "0.0.0.0", "::", "*")  # noqa: S104 - names, not a bind
DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages load Swagger UI / ReDoc from jsDelivr with inline scripts.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.jsdelivr.net; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc", "/docs/oauth2-redirect")
# An uploaded HTML or SVG artifact opened in a browser must not run script as this origin.
ARTIFACT_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST_RE = re.compile(r"[a-z0-9._\-]+|\[[0-9a-f:.]+\]")


def parse_size(value: int | str) -> int:
    """Bytes in 1073741824, '1GiB', '16MiB', '512KiB', '2G', '100M' (binary units)."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)(i?b)?\s*", value.lower())
    if not match:
        raise InvalidInputError("size", value, "must be a number of bytes or like 16MiB, 1GiB")
    exponent = " kmgt".index(match.group(2) or " ")
    return int(match.group(1)) * int(1024**exponent)


def _split_list(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(i.strip() for i in items if i.strip())


@dataclass(frozen=True)
class Settings:
    bind_host: str = "127.0.0.1"
    # Extra Host names or patterns ("mlflow.corp", "*.corp", "10.1.2.3:5000", or "*" for any).
    allowed_hosts: tuple[str, ...] = ()
    # Browser origins allowed to call the API cross-origin ("https://nb.corp"); none: CORS off.
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_json_body_bytes: int = DEFAULT_MAX_JSON_BODY
    large_body_paths: str = DEFAULT_LARGE_BODY_PATHS
    frame_options: str = "DENY"
    content_security_policy: str = DEFAULT_CSP
    _hosts: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hosts = {*LOOPBACK_HOSTS, _normalize_host(self.bind_host)}
        if self.bind_host in _WILDCARD_BINDS:
            # Bound to every interface: clients may use this machine's own names. (Any IP
            # literal is accepted too, see host_allowed: a rebinding attack needs a name.)
            # Not getfqdn(): it may wait on DNS; other names go in --allowed-hosts.
            hosts.add(_normalize_host(socket.gethostname()))
        object.__setattr__(self, "_hosts", frozenset(h for h in hosts if h))

    @classmethod
    def from_options(
        cls,
        *,
        host: str = "127.0.0.1",
        allowed_hosts: str | Iterable[str] | None = None,
        cors_origins: str | Iterable[str] | None = None,
        max_body: int | str | None = None,
        max_json_body: int | str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """From ``flowtrack server`` options (comma-separated lists, sizes like 16MiB); what is
        not given comes from the FLOWTRACK_* variables of `ENV` (workers inherit those)."""
        env = os.environ if environ is None else environ
        hosts = (*_split_list(allowed_hosts), *_split_list(env.get(ENV["allowed_hosts"])))
        origins = cors_origins if cors_origins is not None else env.get(ENV["cors_origins"])
        body = max_body if max_body is not None else env.get(ENV["max_body"])
        json_body = max_json_body if max_json_body is not None else env.get(ENV["max_json_body"])
        return cls(
            bind_host=host,
            allowed_hosts=hosts,
            cors_origins=_split_list(origins),
            max_body_bytes=parse_size(body) if body else DEFAULT_MAX_BODY,
            max_json_body_bytes=parse_size(json_body) if json_body else DEFAULT_MAX_JSON_BODY,
        )

    def host_allowed(self, header: str | None) -> bool:
        if header is None:
            return False
        parsed = _parse_host_header(header)
        if parsed is None:
            return False
        host, port = parsed
        if "*" in self.allowed_hosts or host in self._hosts:
            return True
        if self.bind_host in _WILDCARD_BINDS and _is_ip(host):
            return True
        shown = f"[{host}]" if ":" in host else host
        names = (host, shown, f"{shown}:{port}") if port else (host, shown)
        for pattern in self.allowed_hosts:
            wanted = pattern.lower().rstrip(".")
            if any(fnmatchcase(name, wanted) for name in names):
                return True
        return False


def _normalize_host(host: str) -> str:
    return host.strip().lower().rstrip(".").strip("[]")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _parse_host_header(header: str) -> tuple[str, str] | None:
    """(host, port) from a Host header, lowercased; None when it is not a valid host."""
    text = header.strip().lower()
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        if not closed or (rest and not rest.startswith(":")):
            return None
        host = f"[{host}]"
    else:
        host, _, port = text.partition(":")
    if not _HOST_RE.fullmatch(host) or (port and not port.isdigit()):
        return None
    return _normalize_host(host), port


class HardeningMiddleware:
    """The checks and headers of this module, as pure ASGI middleware (no body buffering)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._large = re.compile(settings.large_body_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and not self.settings.host_allowed(
                _header(scope, b"host")
            ):
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        settings, path = self.settings, scope["path"]
        large = self._large.search(path) is not None
        headers = _security_headers(settings, path, large)
        if not settings.host_allowed(_header(scope, b"host")):
            await _reply(
                send,
                400,
                "the Host header is not allowed; if this server is meant "
                "to be reached by that name, start it with --allowed-hosts NAME "
                "(or FLOWTRACK_ALLOWED_HOSTS)",
                headers,
            )
            return
        if _CONTROL.search(path):
            # No route wants them, and a CR/LF reaching a log line or a header is an injection.
            await _reply(send, 400, "control characters in the URL path", headers)
            return
        origin = _header(scope, b"origin")
        if (
            origin is not None
            and scope["method"] not in _SAFE_METHODS
            and not _same_origin(origin, _header(scope, b"host"), settings.cors_origins)
        ):
            await _reply(
                send,
                403,
                "cross-origin request refused; the server allows an origin with "
                "FLOWTRACK_CORS_ALLOWED_ORIGINS",
                headers,
            )
            return
        limit = settings.max_body_bytes if large else settings.max_json_body_bytes
        length = _header(scope, b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > limit):
            too_big = length.strip().isdigit()
            await _reply(
                send,
                413 if too_big else 400,
                _too_large(limit) if too_big else "invalid Content-Length",
                headers,
            )
            return
        await _Guarded(self.app, limit, headers)(scope, receive, send)


class _Guarded:
    """One request: counts body bytes as they stream in and adds the headers on the way out."""

    def __init__(self, app: ASGIApp, limit: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.app, self.limit, self.headers = app, limit, headers
        self.received = 0
        self.exceeded = False  # the body went over the limit
        self.started = False  # a response has begun on the wire
        self.replaced = False  # ... and it is our 413: drop whatever the app sends

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.exceeded = True
                    # An HTTPException so that FastAPI, which turns other body-read errors into
                    # a 400, passes it on; guarded_send makes any response the 413 regardless.
                    raise HTTPException(413, _too_large(self.limit))
            return message

        async def guarded_send(message: Message) -> None:
            if self.replaced:
                return
            if message["type"] == "http.response.start":
                if self.exceeded:
                    await self._send_413(send)
                    return
                self.started = True
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not self.exceeded:
                raise
            await self._send_413(send)

    async def _send_413(self, send: Send) -> None:
        if self.started:
            return  # too late to change the status: the connection just ends
        self.started = self.replaced = True
        await _reply(send, 413, _too_large(self.limit), self.headers)


def _too_large(limit: int) -> str:
    return (
        f"request body larger than the limit of {limit} bytes (the server's "
        "FLOWTRACK_MAX_BODY_SIZE for artifacts, FLOWTRACK_MAX_JSON_BODY_SIZE for the rest)"
    )


def _security_headers(settings: Settings, path: str, large: bool) -> list[tuple[bytes, bytes]]:
    csp = settings.content_security_policy
    if path in DOCS_PATHS:
        csp = DOCS_CSP
    elif large:
        csp = ARTIFACT_CSP
    return [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", settings.frame_options.encode("latin-1")),
        (b"content-security-policy", csp.encode("latin-1")),
        (b"referrer-policy", b"same-origin"),
    ]


def _same_origin(origin: str, host: str | None, allowed: tuple[str, ...]) -> bool:
    if origin in allowed or "*" in allowed:
        return True
    parts = urlsplit(origin)
    return (
        bool(host)
        and parts.scheme in ("http", "https")
        and parts.netloc.lower() == (host or "").strip().lower()
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _reply(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    codes = {400: "INVALID_PARAMETER_VALUE", 403: "PERMISSION_DENIED", 413: "REQUEST_TOO_LARGE"}
    body = json.dumps(
        {"error_code": codes.get(status, "BAD_REQUEST"), "message": message, "detail": message}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install(app: Any, settings: Settings | None = None) -> None:
    """Add CORS (only with origins) and the hardening middleware to ``app``. Call it after every
    other ``add_middleware`` (auth's included), so that it wraps them: a bad Host or an
    oversized body is refused before anything else runs."""
    settings = settings or Settings()
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(HardeningMiddleware, settings=settings)


# -- artifact paths ------------------------------------------------------------------------------
MAX_ARTIFACT_PATH_LENGTH = 4096
MAX_NAME_BYTES = 255  # NAME_MAX of ext4, xfs, APFS; S3 keys allow more, but one rule for all
_MAX_DECODINGS = 4
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def safe_artifact_path(raw: object, field_name: str = "artifact path") -> str:
    """A relative artifact path that stays inside the artifact root however it is read.

    The path is percent-decoded until it stops changing (so ``%252e%252e`` is seen as ``..``),
    then refused if it has a '..' segment, is absolute (``/``, ``C:``), uses backslashes, NUL
    or control characters, '#', ';' or '?' (a URL-based store would read them as fragment,
    parameters or query: s3fs takes ``?versionId=``), a scheme (``file:``, ``s3://``), or a
    leading '~'. Returns the decoded path, '/'-joined without '.' or empty segments: use that,
    never ``raw``, so what was checked is what is used.
    """
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        raise InvalidInputError(field_name, raw, "must be a string")
    if len(raw) > MAX_ARTIFACT_PATH_LENGTH:
        raise InvalidInputError(field_name, raw, "is longer than 4096 characters")
    text = raw
    for _ in range(_MAX_DECODINGS):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    else:
        raise InvalidInputError(field_name, raw, "is percent-encoded too many times")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInputError(field_name, raw, "must not contain NUL or control characters")
    for bad in ("\\", "#", ";", "?"):
        if bad in text:
            raise InvalidInputError(field_name, raw, f"must not contain {bad!r}")
    if _SCHEME_RE.match(text):
        raise InvalidInputError(
            field_name, raw, "must be a path relative to the artifact root, not a URI or drive"
        )
    if text.startswith("~"):
        raise InvalidInputError(field_name, raw, "must not start with '~'")
    if any(len(s.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for s in text.split("/")):
        # Longer than a file name may be on any common filesystem: refused here rather than
        # failing half-way in the store.
        raise InvalidInputError(
            field_name, raw, f"has a path segment longer than {MAX_NAME_BYTES} bytes"
        )
    # A look-alike of '..' (e.g. fullwidth dots) that a store might normalize into one.
    if any(
        unicodedata.normalize("NFKC", s) in ("..", ".") and s not in ("..", ".")
        for s in text.split("/")
    ):
        raise InvalidInputError(field_name, raw, "must not contain look-alikes of '.' or '..'")
    return validate_artifact_path(text, field_name)


def contained_local_path(root: str | os.PathLike[str], relative: str) -> Path:
    """``root/relative`` for a local artifact root, after `safe_artifact_path` and with symlinks
    resolved: a link inside the root that points outside it is refused too."""
    clean = safe_artifact_path(relative)
    base = Path(root).resolve()
    target = (base / clean).resolve() if clean else base
    if target != base and base not in target.parents:
        raise InvalidInputError("artifact path", relative, "leads outside the artifact root")
    return target


_URL_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]+)://([^/?#]*)(.*)", re.DOTALL)


def _place(location: str) -> tuple[str, str]:
    """(scheme://authority, path) of an fsspec URL; a local path or file: URL is ("file", path).
    The path is the raw rest of the text (query and fragment included) for the caller to check."""
    if location.startswith("file:") and not location.startswith("file://"):
        return "file", location[len("file:") :]
    match = _URL_RE.fullmatch(location)
    if match is None:
        return "file", location
    scheme, authority, rest = match.groups()
    if scheme.lower() == "file":
        # file://localhost/x and file:///x are local; file://host/x is another machine.
        return (
            ("file", rest)
            if authority.lower() in ("", "localhost")
            else ("file:" + authority, rest)
        )
    return f"{scheme.lower()}://{authority}", rest


def location_inside(location: str, destination: str, field_name: str = "artifact_location") -> str:
    """``location`` as ``<destination>/<clean relative path>`` when it lies within
    ``destination`` (same scheme and bucket, a path under its prefix after normalizing, and no
    traversal in any decoding of the rest); else `InvalidInputError` naming the field.

    Built from the destination and the checked remainder, never from ``location`` itself, so
    that what was checked is what is stored."""
    if not isinstance(location, str):
        raise InvalidInputError(field_name, location, "must be a string")
    root_place, root_path = _place(destination.strip())
    if root_place == "file":
        root_path = os.path.abspath(root_path)
    root_path = root_path.rstrip("/")
    place, path = _place(location.strip())
    refusal = (
        f"must lie within the server's artifacts destination {destination.rstrip('/')}; "
        "leave it out to use the default"
    )
    if place != root_place or not path.startswith("/"):
        raise InvalidInputError(field_name, location, refusal)
    if path.rstrip("/") == root_path:
        relative = ""
    elif path.startswith(root_path + "/"):
        relative = path[len(root_path) + 1 :]
    else:
        raise InvalidInputError(field_name, location, refusal)
    try:
        clean = safe_artifact_path(relative, field_name)
    except InvalidInputError as exc:
        raise InvalidInputError(field_name, location, exc.reason) from None
    root = destination.strip().rstrip("/")
    if root_place == "file" and "://" not in root and not root.startswith("file:"):
        root = root_path
    return f"{root}/{clean}" if clean else root

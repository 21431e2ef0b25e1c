"""Artifacts through a flowtrack server's proxy: the artifact store of runs on a REST store.

A run's artifact URI on a REST store is a URL of the server's proxy, e.g.
``http://server:5000/api/v1/experiments/1/artifacts/<run_id>/artifacts``; files go up with one
streamed ``PUT`` each and come down with a streamed ``GET`` (written beside the target, then
renamed), so a file of any size costs a constant amount of memory on both sides.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3

from flowtrack.artifacts.base import ArtifactStore
from flowtrack.entities import FileInfo
from flowtrack.errors import InvalidInputError, StoreUnavailableError
from flowtrack.store.rest import codec
from flowtrack.store.rest.http import HttpClient, client_for
from flowtrack.validation import validate_artifact_path

_CHUNK = 1 << 20
# <base>/api/v1/experiments/<id>/artifacts[/<sub>] or <base>/api/v1/runs/<id>/artifacts[/<sub>]
_PROXY = re.compile(
    r"(?P<base>https?://.+?)/api/v1/(?P<root>(?:experiments|runs)/[^/]+/artifacts)(?:/(?P<sub>.*))?"
)


def parse_proxy_uri(uri: str) -> tuple[str, str, str] | None:
    """(server base URL, proxy root under /api/v1/, sub-path) of a proxied artifact URI."""
    found = _PROXY.fullmatch(uri.rstrip("/"))
    if found is None:
        return None
    return found.group("base"), found.group("root"), (found.group("sub") or "").strip("/")


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


class RestArtifactStore(ArtifactStore):
    def __init__(self, root_uri: str) -> None:
        parsed = parse_proxy_uri(root_uri)
        if parsed is None:
            raise InvalidInputError(
                "artifact URI", root_uri, "is not an artifact URL of a flowtrack server"
            )
        base, root, self.sub = parsed
        self.root_uri = root_uri
        self.http: HttpClient = client_for(base)
        self.endpoint = f"{codec.API_PREFIX}/{root}"

    def _full(self, relative: str) -> str:
        return _join(self.sub, validate_artifact_path(relative))

    def _file_url(self, full: str) -> str:
        return f"{self.endpoint}/{quote(full, safe='/')}"

    # -- writing ---------------------------------------------------------------------
    def _put(self, local_file: Path, relative: str) -> None:
        size = local_file.stat().st_size

        def body() -> Any:
            return open(local_file, "rb")

        self.http.request(
            "PUT",
            self._file_url(self._full(relative)),
            data=body,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )

    def log_file(self, local_file: Path, artifact_path: str = "") -> str:
        base = validate_artifact_path(artifact_path)
        relative = _join(base, local_file.name)
        self._put(Path(local_file), relative)
        return relative

    def log_dir(self, local_dir: Path, artifact_path: str = "") -> list[str]:
        base = validate_artifact_path(artifact_path)
        written: list[str] = []
        for path in sorted(p for p in Path(local_dir).rglob("*") if p.is_file()):
            relative = _join(base, path.relative_to(local_dir).as_posix())
            self._put(path, relative)
            written.append(relative)
        return written

    # -- reading ---------------------------------------------------------------------
    def _listing(self, full: str, recursive: bool) -> list[FileInfo]:
        answer = self.http.call(
            "GET",
            self.endpoint,
            params={"path": full, "recursive": "true" if recursive else "false"},
        )
        return [codec.file_from_dict(f) for f in answer["files"]]

    def _relative(self, info: FileInfo) -> FileInfo:
        path = info.path
        if self.sub:
            path = path[len(self.sub) + 1 :] if path.startswith(self.sub + "/") else ""
        return FileInfo(path, info.is_dir, info.file_size)

    def list(self, path: str = "") -> list[FileInfo]:
        return [self._relative(f) for f in self._listing(self._full(path), recursive=False)]

    def download(self, path: str, dst_dir: Path) -> Path:
        full = self._full(path)
        files = [f for f in self._listing(full, recursive=True) if not f.is_dir]
        if not files:
            raise InvalidInputError("artifact path", path, "does not exist in this run's artifacts")
        name = full.rsplit("/", 1)[-1] if validate_artifact_path(path) else "artifacts"
        target = Path(dst_dir) / name
        if len(files) == 1 and files[0].path == full:
            self._get(full, target)
            return target
        for f in files:
            inner = validate_artifact_path(f.path[len(full) :].lstrip("/"))
            self._get(f.path, target / inner)
        target.mkdir(parents=True, exist_ok=True)
        return target

    def _get(self, full: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f"{local.name}.tmp-{uuid.uuid4().hex}")
        response = self.http.request("GET", self._file_url(full), stream=True)
        try:
            with open(tmp, "wb") as out:
                # Checked against Content-Length: a connection cut short raises, not truncates.
                for chunk in response.stream(_CHUNK):
                    out.write(chunk)
            os.replace(tmp, local)
        except urllib3.exceptions.HTTPError as exc:
            # The connection broke in the middle: nothing was kept; the download may be redone.
            raise StoreUnavailableError(
                f"downloading {full!r} from {self.http.base} was interrupted: {exc}"
            ) from None
        finally:
            response.release_conn()
            tmp.unlink(missing_ok=True)

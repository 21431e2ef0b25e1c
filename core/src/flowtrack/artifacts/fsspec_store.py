"""Artifacts through fsspec: a local folder by default, any fsspec URL (s3://, gs://, ...) too."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from flowtrack.artifacts.base import ArtifactStore
from flowtrack.entities import FileInfo
from flowtrack.errors import InvalidInputError
from flowtrack.validation import validate_artifact_path


class FsspecArtifactStore(ArtifactStore):
    def __init__(self, root_uri: str) -> None:
        import fsspec

        self.root_uri = root_uri
        self.fs: Any
        self.fs, self.root = fsspec.core.url_to_fs(root_uri)
        self.root = self.root.rstrip("/")
        self.local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )

    def _full(self, relative: str) -> str:
        relative = validate_artifact_path(relative)
        return f"{self.root}/{relative}" if relative else self.root

    def _put(self, local_file: Path, relative: str) -> None:
        dest = self._full(relative)
        parent = dest.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        if self.local:
            # Readers never see a half-written file: copy beside it, then rename over it.
            tmp = f"{dest}.tmp-{uuid.uuid4().hex}"
            self.fs.put_file(str(local_file), tmp)
            os.replace(tmp, dest)
        else:
            self.fs.put_file(str(local_file), dest)

    def log_file(self, local_file: Path, artifact_path: str = "") -> str:
        base = validate_artifact_path(artifact_path)
        relative = f"{base}/{local_file.name}" if base else local_file.name
        self._put(local_file, relative)
        return relative

    def log_dir(self, local_dir: Path, artifact_path: str = "") -> list[str]:
        base = validate_artifact_path(artifact_path)
        written: list[str] = []
        for path in sorted(p for p in local_dir.rglob("*") if p.is_file()):
            inner = path.relative_to(local_dir).as_posix()
            relative = f"{base}/{inner}" if base else inner
            self._put(path, relative)
            written.append(relative)
        return written

    def list(self, path: str = "") -> list[FileInfo]:
        full = self._full(path)
        if not self.fs.exists(full):
            return []
        if self.fs.isfile(full):
            return [FileInfo(validate_artifact_path(path), False, self.fs.size(full))]
        out = []
        for entry in self.fs.ls(full, detail=True):
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            if ".tmp-" in name:
                continue
            relative = f"{validate_artifact_path(path)}/{name}".lstrip("/")
            is_dir = entry["type"] == "directory"
            out.append(FileInfo(relative, is_dir, None if is_dir else entry.get("size")))
        return sorted(out, key=lambda f: f.path)

    def download(self, path: str, dst_dir: Path) -> Path:
        full = self._full(path)
        if not self.fs.exists(full):
            raise InvalidInputError("artifact path", path, "does not exist in this run's artifacts")
        name = full.rsplit("/", 1)[-1] if path else "artifacts"
        target = Path(dst_dir) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.fs.isdir(full):
            self.fs.get(full + "/", str(target), recursive=True)
        else:
            self.fs.get_file(full, str(target))
        return target

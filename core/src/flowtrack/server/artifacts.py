"""The server's side of the artifact proxy: files under an artifact root, through fsspec.

Uploads stream the request body to the destination, never holding more than a few MiB: on a
local folder into a temp file beside the target, renamed over it when complete; on an object
store (S3 ...) as a multipart upload that is only committed when complete and aborted
otherwise. Either way a reader never sees a half-written file, and an interrupted or short
upload leaves nothing behind. Downloads stream too.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from flowtrack.entities import FileInfo
from flowtrack.errors import ConflictError, InvalidInputError, NotFoundError

CHUNK = 1 << 20
# Bytes gathered from the request before one write: a thread hand-off per 64 KiB network
# chunk would cost more than the write.
WRITE_BUFFER = 4 << 20
TMP_MARK = ".tmp-"
# Served with their own type; anything else is application/octet-stream, so a browser never
# runs an artifact (HTML, SVG, JavaScript) in the server's origin.
_SAFE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/plain",
        "text/csv",
        "application/json",
    }
)


@dataclass(frozen=True)
class Place:
    """A path below an artifact root: the filesystem, the root and the full path on it, and
    the path relative to the root (checked, and as it will be used)."""

    fs: Any
    base: str
    relative: str
    full: str
    local: bool


def place(root_uri: str, path: str) -> Place:
    """``path`` below ``root_uri``, refused unless it stays inside: hardening's check of every
    traversal trick, and on a local root also symlinks resolved (a link pointing out of the
    root is refused)."""
    import fsspec

    from flowtrack.server.hardening import contained_local_path, safe_artifact_path

    relative = safe_artifact_path(path, "path")
    fs, base = fsspec.core.url_to_fs(root_uri)
    base = base.rstrip("/")
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    local = "file" in protocol or "local" in protocol
    if local:
        # Resolved like the full path, so listings (named from it) share the prefix.
        base = str(Path(base).resolve())
        full = str(contained_local_path(base, relative)) if relative else base
    else:
        full = f"{base}/{relative}" if relative else base
    return Place(fs, base, relative, full, local)


def list_files(where: Place, recursive: bool) -> list[FileInfo]:
    """Entries below ``where`` with paths relative to the root (a file lists as itself)."""
    fs, full = where.fs, where.full
    if not fs.exists(full):
        return []
    if fs.isfile(full):
        return [FileInfo(where.relative, False, fs.size(full))]
    entries = fs.find(full, detail=True).values() if recursive else fs.ls(full, detail=True)
    out = []
    prefix = where.base + "/"
    for entry in entries:
        name = entry["name"].rstrip("/")
        if TMP_MARK in name.rsplit("/", 1)[-1] or not name.startswith(prefix):
            continue
        is_dir = entry["type"] == "directory"
        out.append(FileInfo(name[len(prefix) :], is_dir, None if is_dir else entry.get("size")))
    return sorted(out, key=lambda f: f.path)


def open_for_download(where: Place) -> tuple[int | None, str]:
    """(size, media type) of a file to send; `NotFoundError` if it is not a file."""
    if not where.relative or not where.fs.isfile(where.full):
        raise NotFoundError(
            "artifact", where.relative, "list the artifacts to see the files that exist"
        )
    size = where.fs.size(where.full)
    guessed = mimetypes.guess_type(where.relative)[0] or ""
    return size, guessed if guessed in _SAFE_TYPES else "application/octet-stream"


def read_chunks(where: Place) -> Iterator[bytes]:
    with where.fs.open(where.full, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


@contextlib.contextmanager
def no_file_folder_clash(relative: str) -> Iterator[None]:
    """An upload where a file stands in for one of its folders, or onto a folder, is the
    client's conflict (409), not a server failure."""
    try:
        yield
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        raise ConflictError(
            f"cannot write artifact {relative!r}: a file and a folder would share a name "
            "(one of its folders is a file, or it is a folder)"
        ) from None


async def receive(where: Place, body: AsyncIterator[bytes], expected: int | None) -> int:
    """Write the streamed body to ``where``; the bytes written. A body shorter or longer than
    its Content-Length is refused and nothing is kept."""
    if not where.relative:
        raise InvalidInputError("path", "", "name the file to upload below the artifact root")
    fs, full = where.fs, where.full
    if where.local:
        with no_file_folder_clash(where.relative):
            await run_in_threadpool(fs.makedirs, full.rsplit("/", 1)[0], exist_ok=True)
        if fs.isdir(full):
            raise InvalidInputError("path", where.relative, "is a folder")
        target = f"{full}{TMP_MARK}{uuid.uuid4().hex}"
        out = await run_in_threadpool(open, target, "wb")
    else:
        target = full
        out = await run_in_threadpool(fs.open, full, "wb")
    size = 0
    try:
        buffer = bytearray()
        async for chunk in body:
            buffer += chunk
            size += len(chunk)
            if len(buffer) >= WRITE_BUFFER:
                await run_in_threadpool(out.write, bytes(buffer))
                buffer.clear()
        if expected is not None and size != expected:
            raise InvalidInputError(
                "body", f"{size} bytes", f"Content-Length said {expected}; send the file again"
            )
        if buffer:
            await run_in_threadpool(out.write, bytes(buffer))
        await run_in_threadpool(out.close)  # on an object store, this commits the upload
        if where.local:
            os.replace(target, full)
    except BaseException:
        await run_in_threadpool(_abandon, out, target if where.local else None)
        raise
    return size


def _abandon(out: Any, tmp: str | None) -> None:
    if tmp is not None:
        out.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        return
    discard = getattr(out, "discard", None)
    if callable(discard):
        discard()  # s3fs: abort the multipart upload
    # Closing would commit what was written so far; mark it closed instead.
    out.closed = True

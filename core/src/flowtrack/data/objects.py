"""The content-addressed object store (the cache): ``<root>/<algo>/<2 hex>/<rest>``.

Objects are written to a temp file and renamed into place, so a killed ``add`` leaves no
partial object under its final name; they are read-only once written; a large file is hashed
while it is copied and the copy is read back and checked before it is renamed, so a bad read
or write cannot enter the cache.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from flowtrack.data.atomic import write_then_rename
from flowtrack.data.hashing import CHUNK, hash_bytes, hash_file, new_hasher
from flowtrack.data.manifest import DIR_SUFFIX, Manifest
from flowtrack.errors import FlowtrackError


class CorruptObjectError(FlowtrackError):
    """An object's content does not match its name."""


class ObjectStore:
    def __init__(self, root: Path, algorithm: str) -> None:
        self.root = root
        self.algorithm = algorithm
        self.base = root / algorithm
        self.tmp = root / "tmp"
        self._base = str(self.base)
        self._ready = False

    def path(self, oid: str) -> Path:
        return self.base / oid[:2] / oid[2:]

    def _path(self, oid: str) -> str:
        return f"{self._base}/{oid[:2]}/{oid[2:]}"

    def has(self, oid: str) -> bool:
        return os.path.exists(self._path(oid))

    def _prepare(self) -> None:
        # All 256 prefix folders up front: one mkdir per object would double the syscalls.
        if not self._ready:
            for i in range(256):
                os.makedirs(f"{self._base}/{i:02x}", exist_ok=True)
            self.tmp.mkdir(parents=True, exist_ok=True)
            self._ready = True

    def _temp(self) -> Path:
        self._prepare()
        return self.tmp / f"add-{os.getpid()}-{uuid.uuid4().hex}"

    def _commit(self, tmp: Path, oid: str) -> None:
        os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        final = self.path(oid)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)

    def put_bytes(self, oid: str, data: bytes) -> bool:
        """Store ``data`` (already hashed to ``oid`` by the caller); False if it was there."""
        final = self._path(oid)
        if os.path.exists(final):
            return False
        self._prepare()
        # A temp name in the object's own folder, created read-only: no chmod, same-dir rename;
        # the pid in it lets gc tell a dead writer's leftover from a live writer's file.
        tmp = f"{final}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        write_then_rename(tmp, final, data, 0o444)
        return True

    def add_file(self, src: str, st: os.stat_result) -> str:
        """Copy a large file in, hashing it on the way: one read of the file, not three.

        The copy is read back and checked against what was read before it gets its name, and
        a file that changed while it was copied (its size or mtime moved) is refused: either
        way nothing enters the cache under a name its content does not have.
        """
        tmp = self._temp()
        try:
            oid, check = _copy_hashing(src, tmp, self.algorithm)
            after = os.stat(src)
            if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
                raise CorruptObjectError(
                    f"{src} changed while it was being added; add it again once nothing "
                    "writes to it"
                )
            if hash_file(tmp, "blake3") != check:
                raise CorruptObjectError(
                    f"the copy of {src} in the cache does not match what was read from it; "
                    f"nothing was stored. Check the disk under {self.root}, then add again"
                )
            if not self.has(oid):
                self._commit(tmp, oid)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return oid

    def put_verified_file(self, oid: str, tmp: Path) -> bool:
        """Move ``tmp`` (a file under ``self.tmp``, e.g. a download) in as ``oid`` once its
        hash matches; a mismatch deletes it and raises CorruptObjectError, so a bad copy from
        a remote never gets a name in the cache. False if the object was already there."""
        try:
            if self.has(oid):
                return False
            got = hash_file(tmp, self.algorithm)
            if got != oid.removesuffix(DIR_SUFFIX):
                raise CorruptObjectError(
                    f"object {oid} is corrupted (its content hashes to {got}); it was not stored"
                )
            self._commit(tmp, oid)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return True

    def put_manifest(self, manifest: Manifest) -> str:
        oid = manifest.digest(self.algorithm)
        self.put_bytes(oid, manifest.to_bytes())
        return oid

    def read_manifest(self, oid: str) -> Manifest:
        data = self.read_verified(oid)
        return Manifest.from_bytes(data, str(self.path(oid)))

    def read_verified(self, oid: str) -> bytes:
        """The object's bytes, checked against its name: corruption is never passed on."""
        path = self._path(oid)
        with open(path, "rb") as f:
            data = f.read()
        if hash_bytes(data, self.algorithm) != oid.removesuffix(DIR_SUFFIX):
            raise CorruptObjectError(
                f"cache object {path} is corrupted (its content does not match its name); "
                "run `flowtrack data verify` and `flowtrack data pull` to fetch a good copy"
            )
        return data

    def verify(self, oid: str) -> bool:
        path = self.path(oid)
        if not path.exists():
            return False
        return hash_file(path, self.algorithm) == oid.removesuffix(DIR_SUFFIX)

    def remove(self, oid: str) -> None:
        path = self.path(oid)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
            path.unlink()

    def stale_temps(self) -> list[Path]:
        """Temp files of writers that died (their pid is gone): safe to delete.

        They sit beside objects (``<rest>.tmp-<pid>-...``) or in ``tmp/`` (``add-<pid>-...``,
        ``fetch-<pid>-...``).
        """
        out: list[Path] = []
        if self.tmp.is_dir():
            for entry in os.scandir(self.tmp):
                parts = entry.name.split("-")
                if len(parts) >= 3 and not _alive(parts[1]):
                    out.append(Path(entry.path))
        if not self.base.is_dir():
            return out
        for prefix in os.scandir(self.base):
            if not prefix.is_dir():
                continue
            for entry in os.scandir(prefix.path):
                _, sep, tail = entry.name.partition(".tmp-")
                if sep and not _alive(tail.split("-", 1)[0]):
                    out.append(Path(entry.path))
        return out

    def oids(self) -> Iterator[str]:
        if not self.base.is_dir():
            return
        for prefix in sorted(os.scandir(self.base), key=lambda e: e.name):
            if prefix.is_dir() and len(prefix.name) == 2:
                for entry in os.scandir(prefix.path):
                    if ".tmp-" not in entry.name:
                        yield prefix.name + entry.name


def _copy_hashing(src: str, dst: Path, algorithm: str) -> tuple[str, str]:
    """Copy ``src`` to ``dst``; returns (the hash by ``algorithm``, a blake3 check hash).

    Each chunk is written on a second thread while this one hashes it (both release the GIL),
    so an md5 add costs about one pass over the file instead of hash, copy, rehash.
    """
    hasher = new_hasher(algorithm, parallel=True)
    check = hasher if algorithm == "blake3" else new_hasher("blake3")
    buffers = [bytearray(CHUNK), bytearray(CHUNK)]
    with (
        open(src, "rb", buffering=0) as f,
        open(dst, "xb", buffering=0) as out,
        ThreadPoolExecutor(1, thread_name_prefix="flowtrack-copy") as writer,
    ):
        pending: Future[None] | None = None
        turn = 0
        while True:
            buf = buffers[turn]
            n = f.readinto(buf)  # the other buffer may still be being written
            if pending is not None:
                pending.result()
            if not n:
                break
            view = memoryview(buf)[:n]
            pending = writer.submit(_write_all, out.fileno(), view)
            hasher.update(view)
            if check is not hasher:
                check.update(view)
            turn ^= 1
    return str(hasher.hexdigest()), str(check.hexdigest())


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view) :]


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

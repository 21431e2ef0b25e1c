"""Content hashes: blake3 by default, md5 for DVC compatibility.

Large files are read in 4 MiB chunks into one reused buffer (memory stays bounded whatever the
file's size) and blake3 hashes each chunk on all cores; small files are read in one call and
hashed on a thread pool (the read releases the GIL, so threads overlap the I/O).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

from flowtrack.errors import InvalidInputError

ALGORITHMS = ("blake3", "md5")
# Below this, one read() and one hash call; above, chunked reads.
SMALL_FILE = 4 * 2**20
# 4 MiB: large enough for blake3 to spread a chunk over all cores, small enough to stay in
# cache; measured as fast as hashing a memory map of the whole file, with bounded memory.
CHUNK = 4 * 2**20


def check_algorithm(name: str) -> str:
    if name not in ALGORITHMS:
        raise InvalidInputError("hash algorithm", name, f"must be one of {', '.join(ALGORITHMS)}")
    return name


def hash_bytes(data: bytes, algorithm: str) -> str:
    if algorithm == "blake3":
        import blake3

        return str(blake3.blake3(data).hexdigest())
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def hash_file(path: str | os.PathLike[str], algorithm: str, size: int | None = None) -> str:
    if size is None:
        size = os.stat(path).st_size
    if size <= SMALL_FILE:
        with open(path, "rb") as f:
            return hash_bytes(f.read(), algorithm)
    hasher = new_hasher(algorithm, parallel=True)
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            hasher.update(view[:n])
    return str(hasher.hexdigest())


def new_hasher(algorithm: str, parallel: bool = False) -> Any:
    """A hashlib-style object (``update``, ``hexdigest``); ``parallel`` lets blake3 use all
    cores, worth it only for chunks of megabytes."""
    if algorithm == "blake3":
        import blake3

        return blake3.blake3(max_threads=blake3.blake3.AUTO if parallel else 1)
    return hashlib.md5(usedforsecurity=False)


def hasher_for(algorithm: str) -> Callable[[bytes], str]:
    return lambda data: hash_bytes(data, algorithm)


def read_and_hash(path: str, size: int, algorithm: str) -> tuple[str, bytes | None]:
    """Hash a file; for a small file also return its bytes, so storing it needs no second read."""
    if size <= SMALL_FILE:
        with open(path, "rb") as f:
            data = f.read()
        return hash_bytes(data, algorithm), data
    return hash_file(path, algorithm, size), None


class StreamHasher:
    """Incremental hashing, for content that arrives in chunks (a remote object)."""

    def __init__(self, algorithm: str) -> None:
        self._h = new_hasher(check_algorithm(algorithm))

    def update(self, chunk: bytes) -> None:
        self._h.update(chunk)

    def hexdigest(self) -> str:
        return str(self._h.hexdigest())

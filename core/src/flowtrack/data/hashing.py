"""Content hashes: blake3 by default, md5 for DVC compatibility.

Large files are hashed by blake3 over a memory map on all cores; small files are read in one
call and hashed on a thread pool (the read releases the GIL, so threads overlap the I/O).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

from flowtrack.errors import InvalidInputError

ALGORITHMS = ("blake3", "md5")
# Below this, one read() and one hash call; above, blake3 hashes a memory map on all cores.
SMALL_FILE = 4 * 2**20
_CHUNK = 2**20


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
    if algorithm == "blake3":
        import blake3

        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        hasher.update_mmap(str(path))
        return str(hasher.hexdigest())
    md5 = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            md5.update(chunk)
    return md5.hexdigest()


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
        check_algorithm(algorithm)
        if algorithm == "blake3":
            import blake3

            self._h: Any = blake3.blake3()
        else:
            self._h = hashlib.md5(usedforsecurity=False)

    def update(self, chunk: bytes) -> None:
        self._h.update(chunk)

    def hexdigest(self) -> str:
        return str(self._h.hexdigest())

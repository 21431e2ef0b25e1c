"""Directory manifests: the sorted (path, hash, size) entries of a folder, stored as an object.

A manifest is canonical JSON, so the same tree always has the same manifest hash; its object
name ends in ``.dir`` as in DVC, which tells a folder's hash from a file's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from flowtrack.data.hashing import hash_bytes
from flowtrack.errors import InvalidInputError
from flowtrack.validation import validate_artifact_path

DIR_SUFFIX = ".dir"


@dataclass(frozen=True, slots=True)
class Entry:
    path: str  # relative, '/'-separated
    hash: str
    size: int


@dataclass(frozen=True, slots=True)
class Manifest:
    entries: tuple[Entry, ...]

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    def by_path(self) -> dict[str, Entry]:
        return {e.path: e for e in self.entries}

    def to_bytes(self) -> bytes:
        rows = [{"path": e.path, "hash": e.hash, "size": e.size} for e in self.entries]
        return json.dumps(rows, separators=(",", ":"), sort_keys=True).encode()

    def digest(self, algorithm: str) -> str:
        return hash_bytes(self.to_bytes(), algorithm) + DIR_SUFFIX

    @classmethod
    def build(cls, entries: list[Entry]) -> Manifest:
        return cls(tuple(sorted(entries, key=lambda e: e.path)))

    @classmethod
    def from_bytes(cls, data: bytes, source: str) -> Manifest:
        try:
            rows = json.loads(data)
            entries = tuple(Entry(r["path"], r["hash"], int(r["size"])) for r in rows)
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(
                "directory manifest", source, f"is not a flowtrack manifest ({exc})"
            ) from exc
        for entry in entries:
            # A manifest may come from a shared remote: its paths must stay inside the folder.
            if (
                not isinstance(entry.path, str)
                or validate_artifact_path(entry.path, "manifest entry path") != entry.path
                or not entry.path
            ):
                raise InvalidInputError(
                    "manifest entry path",
                    entry.path,
                    f"in {source} is not a plain relative path inside the folder; the manifest "
                    "was tampered with or corrupted, so nothing was checked out",
                )
        return cls(entries)

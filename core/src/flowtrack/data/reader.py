"""``flowtrack.data.open``: read a tracked file as it is now or at any git revision."""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO, Any

from flowtrack.data import gitrev
from flowtrack.data.hashing import SMALL_FILE
from flowtrack.data.objects import CorruptObjectError
from flowtrack.data.repo import DataRepo
from flowtrack.data.workspace import MissingObjectsError, find_pointers
from flowtrack.errors import InvalidInputError


def _locate(repo: DataRepo, target: Path, rev: str | None) -> tuple[str, int]:
    rel = target.relative_to(repo.root).as_posix()
    pointers = gitrev.pointers_at(repo.root, rev) if rev else find_pointers(repo)
    at = f" at {rev}" if rev else ""
    for ptr in pointers:
        data = ptr.data_path.resolve().relative_to(repo.root).as_posix()
        if rel == data and not ptr.is_dir:
            return ptr.hash, ptr.size
        if rel.startswith(data + "/") and ptr.is_dir:
            if not repo.cache.has(ptr.hash):
                raise MissingObjectsError(
                    f"the manifest of {data}{at} is not in the cache; run `flowtrack data fetch`"
                )
            entry = repo.cache.read_manifest(ptr.hash).by_path().get(rel[len(data) + 1 :])
            if entry is None:
                break
            return entry.hash, entry.size
    raise InvalidInputError("path", str(target), f"is not tracked by flowtrack{at}")


def open_version(
    path: str | Path, rev: str | None = None, mode: str = "rb", **text: Any
) -> IO[Any]:
    """Open a tracked file read-only, as recorded now (``rev=None``) or at a git revision.

    The content comes from the cache and is verified against its hash first: a corrupted
    object raises instead of being read. ``mode`` is "rb" or "r" (text; ``encoding`` etc. are
    passed on).
    """
    if mode not in ("rb", "r"):
        raise InvalidInputError("mode", mode, 'must be "rb" or "r": versions are read-only')
    target = Path(path).absolute()
    repo = DataRepo.find(target.parent if target.parent.exists() else None)
    oid, size = _locate(repo, repo.inside(target), rev)
    if not repo.cache.has(oid):
        raise MissingObjectsError(
            f"{path}{' at ' + rev if rev else ''} is not in the cache; run `flowtrack data pull`"
        )
    stream: IO[bytes]
    if size <= SMALL_FILE:
        stream = io.BytesIO(repo.cache.read_verified(oid))
    else:
        if not repo.cache.verify(oid):
            raise CorruptObjectError(
                f"cache object {repo.cache.path(oid)} is corrupted; run `flowtrack data pull`"
            )
        stream = repo.cache.path(oid).open("rb")
    return stream if mode == "rb" else io.TextIOWrapper(stream, **text)

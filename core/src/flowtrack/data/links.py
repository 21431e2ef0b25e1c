"""Materializing a cache object in the workspace: reflink, hardlink, symlink or copy.

The default is reflink, else copy (as DVC): the workspace never shares blocks with the cache
in a way that an edit could write through, unless the user asks for hardlink or symlink.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import uuid
from pathlib import Path

from flowtrack.data.atomic import write_then_rename
from flowtrack.data.hashing import SMALL_FILE
from flowtrack.data.objects import CorruptObjectError, ObjectStore
from flowtrack.data.state import StateCache
from flowtrack.errors import InvalidInputError

LINK_TYPES = ("reflink", "hardlink", "symlink", "copy")
DEFAULT_LINK_TYPES = ("reflink", "copy")
_FICLONE = 0x40049409  # linux/fs.h


def parse_link_types(value: str | list[str] | None) -> tuple[str, ...]:
    if not value:
        return DEFAULT_LINK_TYPES
    items = value.split(",") if isinstance(value, str) else list(value)
    for item in items:
        if item.strip() not in LINK_TYPES:
            raise InvalidInputError(
                "link type", item, f"must be one of {', '.join(LINK_TYPES)} (comma-separated)"
            )
    return tuple(i.strip() for i in items)


def _reflink(src: Path, dst: Path) -> None:
    with open(src, "rb") as s, open(dst, "wb") as d:
        fcntl.ioctl(d.fileno(), _FICLONE, s.fileno())


def _attempt(kind: str, src: Path, tmp: Path) -> None:
    if kind == "reflink":
        _reflink(src, tmp)
    elif kind == "hardlink":
        os.link(src, tmp)
    elif kind == "symlink":
        os.symlink(src, tmp)
    else:
        shutil.copyfile(src, tmp)


_UNSUPPORTED = {
    errno.EOPNOTSUPP,
    errno.EXDEV,
    errno.EINVAL,
    errno.ENOTTY,
    errno.EPERM,
    errno.ENOSYS,
}


def place(src: Path, dst: Path, link_types: tuple[str, ...]) -> str:
    """Put ``src`` at ``dst`` with the first link type that works; atomic: a temp file beside
    ``dst`` is renamed over it. Returns the link type used."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    last: OSError | None = None
    for kind in link_types:
        tmp = dst.parent / f".{dst.name}.ft-tmp-{uuid.uuid4().hex[:8]}"
        try:
            _attempt(kind, src, tmp)
            if kind == "copy":
                # The cache is read-only; the workspace copy must be the user's to edit.
                os.chmod(tmp, 0o644)
            os.replace(tmp, dst)
            return kind
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if exc.errno not in _UNSUPPORTED:
                raise
            last = exc
    raise OSError(f"no link type of {', '.join(link_types)} works for {dst}: {last}")


def write_atomic(dest: Path, data: bytes) -> os.stat_result:
    """Write ``data`` beside ``dest`` and rename it over; returns the file's stat (the inode
    and mtime survive the rename, so the state cache can record it without another stat)."""
    tmp = f"{dest.parent}/.{dest.name}.ft-tmp-{uuid.uuid4().hex[:8]}"
    return write_then_rename(tmp, str(dest), data, 0o644)


def usable_link_types(wanted: tuple[str, ...], cache: Path, workspace: Path) -> tuple[str, ...]:
    """Drop reflink when the filesystem cannot do it, so it is not tried once per file."""
    if "reflink" not in wanted:
        return wanted
    workspace.mkdir(parents=True, exist_ok=True)
    probe_src = cache.parent / f".reflink-probe-{uuid.uuid4().hex[:8]}"
    probe_dst = workspace / f".reflink-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe_src.parent.mkdir(parents=True, exist_ok=True)
        probe_src.write_bytes(b"probe")
        _reflink(probe_src, probe_dst)
        return wanted
    except OSError:
        return tuple(k for k in wanted if k != "reflink") or ("copy",)
    finally:
        for p in (probe_src, probe_dst):
            with contextlib.suppress(OSError):
                p.unlink()


def materialize(
    store: ObjectStore,
    oid: str,
    size: int,
    dest: Path,
    link_types: tuple[str, ...],
    state: StateCache,
) -> os.stat_result:
    """Put a verified copy (or link) of object ``oid`` at ``dest``; returns its stat.

    A small object is read once: the bytes are verified against ``oid`` and written out. A
    large one is verified by hash (skipped when the state cache knows the object unchanged)
    and then linked or copied. A mismatch raises CorruptObjectError and writes nothing.
    """
    if link_types[0] == "copy" and size <= SMALL_FILE:
        return write_atomic(dest, store.read_verified(oid))
    obj = store.path(oid)
    obj_st = obj.stat()
    if state.get(obj_st) != oid:
        if not store.verify(oid):
            raise CorruptObjectError(
                f"cache object {obj} is corrupted (its content does not match its name)"
            )
        state.put(obj_st, oid)
    place(obj, dest, link_types)
    return os.stat(dest)

"""The journal: one append-only file per logging process, the durable half of the queue.

Every event is copied into a shared memory map of the file before the logging call returns:
the bytes are then in the kernel's page cache and survive the process being killed,
at the cost of a memcpy instead of a system call. Space is reserved ahead with
``posix_fallocate``, so a full disk is an error we can handle rather than a SIGBUS. The
writer thread delivers events to the store and the file is deleted once all of it is there;
a file left behind (store
down at exit, process killed) is delivered later by any flowtrack process or ``flowtrack sync``.
The store remembers how far each journal was applied, so delivering one twice writes once.

The owning process holds an exclusive ``flock`` on its journal while it lives; another process
only replays files whose lock it can take, i.e. files whose owner is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import math
import mmap
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from flowtrack.store.events import Event

log = logging.getLogger("flowtrack")

SUFFIX = ".journal"


def store_dir(spool_root: Path, uri: str) -> Path:
    """The folder of journals bound for one store; it records that store's URI for sync."""
    directory = spool_root / hashlib.sha256(uri.encode()).hexdigest()[:16]
    marker = directory / "store.uri"
    if not marker.exists():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # The URI may hold a password: only the owner may read it.
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(uri)
    return directory


def store_dirs(spool_root: Path) -> list[tuple[Path, str]]:
    """The folders of `store_dir` under ``spool_root`` with the store URI each records."""
    if not spool_root.is_dir():
        return []
    folders = sorted(p for p in spool_root.iterdir() if (p / "store.uri").exists())
    return [(folder, (folder / "store.uri").read_text()) for folder in folders]


CHUNK = 4 * 2**20


def _json_float(value: float) -> str:
    if math.isfinite(value):
        return repr(value)
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _dumps(event: Event) -> str:
    if event["op"] == "metric":
        # The hot path: keys were validated to a charset that needs no JSON escaping.
        return (
            f'{{"op":"metric","run_id":"{event["run_id"]}","key":"{event["key"]}",'
            f'"value":{_json_float(event["value"])},"timestamp":{event["timestamp"]},'
            f'"step":{event["step"]},"seq":{event["seq"]}}}'
        )
    return json.dumps(event, separators=(",", ":"))


class Journal:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.id = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.path = directory / f"{self.id}{SUFFIX}"
        self.seq = 0
        self.size = 0
        self.broken: str | None = None
        self._fd: int | None = None
        self._map: mmap.mmap | None = None
        self._capacity = 0

    def append(self, events: list[Event]) -> None:
        """Number the events and write them; on a disk error keep numbering, stop writing."""
        for event in events:
            self.seq += 1
            event["seq"] = self.seq
        if self.broken is not None:
            return
        data = ("\n".join(_dumps(e) for e in events) + "\n").encode()
        try:
            end = self.size + len(data)
            if end > self._capacity:
                self._grow(end)
            assert self._map is not None
            self._map[self.size : end] = data
            self.size = end
        except OSError as exc:
            # A full or read-only disk must not fail the user's task: events stay in memory
            # and go to the store directly; only a crash before delivery could lose them now.
            self.broken = f"{exc.strerror or exc} ({self.path})"
            log.warning(
                "flowtrack: cannot write the event journal: %s; events are held in memory "
                "until the store takes them",
                self.broken,
            )

    def _grow(self, needed: int) -> None:
        if self._fd is None:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._fd = fd
        capacity = max(self._capacity * 2, -(-needed // CHUNK) * CHUNK)
        os.posix_fallocate(self._fd, 0, capacity)
        if self._map is not None:
            self._map.close()
        self._map = mmap.mmap(self._fd, capacity)
        self._capacity = capacity

    def _unmap(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd is not None:
            # Trim the reserved tail so readers see exactly what was written.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.size)
        self._capacity = 0

    def close(self) -> None:
        """Release the file (and its lock) but keep it: it still holds undelivered events."""
        self._unmap()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        """Everything was delivered: the file is no longer needed."""
        self._unmap()
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(fd)
        self.size = 0


def read_events(path: Path, after_seq: int = 0) -> Iterator[Event]:
    """The events of a journal file with seq > after_seq; a torn last line is ignored, and a
    line that cannot be read is set aside in ``unreadable.jsonl`` rather than blocking the rest."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.endswith(b"\n") or raw.startswith(b"\x00"):
                return  # the end, or the writer died mid-line: that event was never returned
            try:
                event = json.loads(raw)
                seq = event["seq"]
            except (ValueError, KeyError, TypeError) as exc:
                log.error("flowtrack: %s line %d cannot be read (%s); set aside", path, number, exc)
                with (path.parent / "unreadable.jsonl").open("ab") as bad:
                    bad.write(raw)
                continue
            if seq > after_seq:
                yield event


@contextlib.contextmanager
def claimed(path: Path) -> Iterator[bool]:
    """Hold the journal's lock if its owner is gone; yields False if it is still owned."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield path.exists()
    finally:
        os.close(fd)


def orphans(directory: Path, own: Path | None = None) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(f"*{SUFFIX}") if p != own)

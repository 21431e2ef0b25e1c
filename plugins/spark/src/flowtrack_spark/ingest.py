"""Spool files of the JVM listener into runs.

The listener appends one JSON line per event to ``<spool>/<app id>.jsonl``. This module turns
them into flowtrack events (one run per application) and hands them to the core's writer,
whose journal keeps them until the store has them. How far a file was read is kept beside it
(``.state``, written after the events are journaled), so reading it again resumes there and
nothing is recorded twice. A file whose application has ended is deleted once read.

Who reads: the helper the listener starts (``python -m flowtrack_spark ingest --follow``),
which follows the file while the JVM runs; ``flowtrack sync`` reads whatever is left and
closes as KILLED the applications whose JVM is gone without an end event. A lock on the file
keeps two readers apart.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import select
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from flowtrack.errors import FlowtrackError
from flowtrack.store.events import Event

from flowtrack_spark import recorder, settings

log = logging.getLogger("flowtrack.spark")
# Polls are a stat each; the file is read only when it grew.
POLL_S = 0.1
HELPER_NICENESS = 10


@dataclass
class Progress:
    """What is known of a spool file after the lines read so far."""

    offset: int = 0
    run_id: str | None = None
    uri: str | None = None
    experiment: str | None = None
    pid: int | None = None
    error: str | None = None
    reference_above: int = settings.DEFAULT_REFERENCE_ABOVE
    last_time: int | None = None
    ended: bool = False


def _state_path(spool: Path) -> Path:
    return spool.with_name(spool.name + ".state")


def _load(spool: Path) -> Progress:
    path = _state_path(spool)
    if not path.exists():
        return Progress()
    try:
        return Progress(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        log.warning("flowtrack: %s is unreadable (%s); reading %s from the start", path, exc, spool)
        return Progress()


def _save(spool: Path, progress: Progress) -> None:
    path = _state_path(spool)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(progress)))
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(spool: Path, wait: bool) -> Iterator[IO[str] | None]:
    """The spool file open and locked, or None when another reader holds it."""
    with open(spool, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield None
            return
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lines(handle: IO[str], progress: Progress) -> list[dict[str, Any]]:
    """Complete lines after the offset (a line still being written is left for later)."""
    handle.seek(progress.offset)
    found: list[dict[str, Any]] = []
    while True:
        line = handle.readline()
        if not line.endswith("\n"):
            break
        progress.offset += len(line.encode("utf-8"))
        try:
            found.append(json.loads(line))
        except ValueError:
            log.warning("flowtrack: skipped a malformed line in %s", handle.name)
    return found


def alive(pid: int | None) -> bool:
    """True if ``pid`` is a running JVM (a reused pid of another program does not count)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return b"java" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


def ingest_once(spool: Path, wait: bool = True, close_dead: bool = False) -> Progress | None:
    """Read what is new in ``spool`` and journal it; None if another reader has it.

    ``close_dead``: an application whose JVM is gone and left no end event is ended as KILLED.
    """
    with _locked(spool, wait) as handle:
        if handle is None:
            return None
        progress = _load(spool)
        for item in _lines(handle, progress):
            # One line at a time, in order: versioning a query's data submits its own events,
            # which must come after the run's creation.
            _submit(progress, recorder.translate(item, progress))
        if close_dead and not progress.ended and not alive(progress.pid):
            _submit(progress, recorder.killed(progress))
        _save(spool, progress)
        if progress.ended:
            spool.unlink(missing_ok=True)
            _state_path(spool).unlink(missing_ok=True)
        return progress


def _submit(progress: Progress, events: list[Event]) -> None:
    if events:
        if progress.uri is None:
            raise FlowtrackError("the spool has events but no application start")
        recorder.submit(progress.uri, events)


def follow(spool: Path, pid: int, timeout: float | None = None) -> Progress | None:
    """Ingest ``spool`` as it grows until its application ends or JVM ``pid`` is gone."""
    deadline = None if timeout is None else time.monotonic() + timeout
    progress: Progress | None = None
    seen: int | None = None
    with _exit_of(pid) as wait:
        while deadline is None or time.monotonic() < deadline:
            size = _size(spool)
            if size is not None and size != seen:  # a stat per poll; read only what grew
                seen = size
                progress = ingest_once(spool)
                if progress is None or progress.ended:
                    break  # another reader took it, or the application ended
            if not alive(pid):
                if spool.exists():  # the end may have been written just before the JVM left
                    progress = ingest_once(spool)
                break
            wait(POLL_S)
    recorder.flush()
    return progress


def yield_cpu() -> None:
    """Lower this process's priority (the helper's, not a library caller's)."""
    # The helper runs beside the JVM and the driver, often on few cores: at a low priority it
    # takes the CPU they leave idle instead of slowing the application; its events wait a
    # little under load, and it catches up when the JVM is done.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(HELPER_NICENESS)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def _exit_of(pid: int) -> Iterator[Callable[[float], None]]:
    """A wait of at most some seconds that ends early when process ``pid`` exits (a pidfd), so
    the helper's last ingest starts as soon as the JVM is gone: a caller reading spark-submit's
    output waits for the helper too, since it shares the JVM's stderr."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux >= 5.3, or the JVM is gone already
        yield time.sleep
        return

    def wait(seconds: float) -> None:
        select.select([fd], [], [], seconds)

    try:
        yield wait
    finally:
        os.close(fd)


def pending(folder: Path | None = None) -> list[Path]:
    root = folder or settings.spool_dir()
    return sorted(root.glob("*.jsonl")) if root.is_dir() else []


def sync(dry_run: bool = False, folder: Path | None = None) -> list[str]:
    """Ingest every spool file left behind (``flowtrack sync``); lines saying what was done."""
    out: list[str] = []
    for spool in pending(folder):
        if dry_run:
            out.append(f"spark: {spool} waiting to be ingested")
            continue
        try:
            progress = ingest_once(spool, wait=False, close_dead=True)
        except (OSError, FlowtrackError) as exc:
            out.append(f"spark: {spool} not ingested: {exc}")
            continue
        if progress is None:
            out.append(f"spark: {spool} is being ingested by another process")
        elif progress.ended:
            out.append(f"spark: ingested {spool.name} into run {progress.run_id}")
        else:
            out.append(f"spark: {spool.name} is still running; ingested so far")
    if out and not dry_run:
        # Close this process's writers: what the store took is done, and what it did not is
        # left in a closed journal that `flowtrack sync` delivers next, like any other.
        recorder.close()
    return out

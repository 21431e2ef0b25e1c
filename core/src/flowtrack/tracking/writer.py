"""The background writer: journal, batch, deliver, retry; never raise into the user's code.

``submit`` costs one ``os.write`` to the journal and a deque append. A daemon thread delivers
batches to the store; when the store is down, slow, locked or read-only the events simply stay
in the journal and are retried with backoff, in order, and delivered exactly once (the store
skips sequence numbers it already has).
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import threading
import time
from collections import deque

from flowtrack import config
from flowtrack.store.events import Event
from flowtrack.tracking import journal as jr
from flowtrack.tracking.bounded import timeout_s
from flowtrack.tracking.delivery import MAX_BATCH, Delivery

log = logging.getLogger("flowtrack")

# Beyond this many undelivered events in memory, the journal file alone holds them.
MAX_IN_MEMORY = 200_000
FLUSH_INTERVAL_S = 0.25


class Writer:
    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.directory = jr.store_dir(config.spool_dir(), uri)
        self.journal = jr.Journal(self.directory)
        self.delivery = Delivery(uri, self.directory)
        self._pending: deque[Event] = deque()
        self._overflow = False  # True: the journal file holds events that memory dropped
        self._applied = 0
        self._lock = threading.Lock()  # seq numbering, journal writes and the deque stay in step
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._retry_at = 0.0
        self._failures = 0  # consecutive, for backoff
        self._failed_attempts = 0  # ever, so a waiting flush learns an attempt failed
        self._force = False
        self._progress = threading.Condition()

    # -- the caller's side -------------------------------------------------------------
    def submit(self, events: list[Event]) -> None:
        with self._lock:
            self.journal.append(events)
            if self._overflow or (
                len(self._pending) > MAX_IN_MEMORY and self.journal.broken is None
            ):
                self._overflow = True
            else:
                self._pending.extend(events)
        if self._thread is None:
            self._start()
        elif len(self._pending) >= MAX_BATCH and not self._wake.is_set():
            self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until what was submitted so far is in the store; True if it is.

        Only the writer thread talks to the store, so this waits at most ``timeout`` seconds
        (FLOWTRACK_FLUSH_TIMEOUT, 5 by default) however slow the store is, and returns at once
        when a delivery attempt fails. What is not delivered stays in the journal.
        """
        target = self.journal.seq
        if self._applied >= target:
            return True
        self._start()
        limit = timeout_s() if timeout is None else timeout
        with self._progress:
            failed_before = self._failed_attempts
            self._force = True
            self._wake.set()
            self._progress.wait_for(
                lambda: self._applied >= target or self._failed_attempts > failed_before,
                timeout=limit,
            )
        return self._applied >= target

    # -- the thread's side -------------------------------------------------------------
    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="flowtrack-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        self.delivery.replay_orphans(own=self.journal.path)
        while not self._stop:
            self._wake.wait(FLUSH_INTERVAL_S)
            self._wake.clear()
            force, self._force = self._force, False
            try:
                if self._pending or self._overflow:
                    self._deliver(force=force)
                elif force:
                    self._notify()
            except Exception:
                # A bug here must not end delivery for the rest of the process; the events
                # are still in the journal and the next round retries them.
                log.exception("flowtrack: the writer for %s hit an error", self.delivery.safe_uri)

    def _deliver(self, force: bool) -> bool:
        if not force and time.monotonic() < self._retry_at:
            return False
        try:
            if self._overflow:
                self._deliver_from_journal()
            while self._pending:
                batch = list(itertools.islice(self._pending, MAX_BATCH))
                self.delivery.apply(batch, self.journal.id)
                for _ in batch:
                    self._pending.popleft()
                self._applied = batch[-1]["seq"]
                self._notify()
        except Exception as exc:
            self._failures += 1
            self._retry_at = time.monotonic() + min(30.0, 0.5 * 2 ** min(self._failures, 6))
            self.delivery.fault(exc, self._undelivered(), self.journal)
            with self._progress:
                self._failed_attempts += 1
                self._progress.notify_all()
            return False
        if self._failures:
            self.delivery.recovered()
            self._failures = 0
        self._rotate_if_done()
        self._notify()
        return True

    def _notify(self) -> None:
        with self._progress:
            self._progress.notify_all()

    def _deliver_from_journal(self) -> None:
        with self._lock:
            self._pending.clear()
            upto = self.journal.seq
        self.delivery.apply_journal(
            self.journal.path, self.journal.id, self._applied, upto, self._set_applied
        )
        with self._lock:
            if self._applied >= self.journal.seq:
                self._overflow = False

    def _set_applied(self, seq: int) -> None:
        self._applied = seq

    def _undelivered(self) -> int:
        return self.journal.seq - self._applied

    def _rotate_if_done(self) -> None:
        # A fully delivered journal is deleted so the spool folder only ever holds debt.
        if self.journal.size > 64 * 2**20:
            with self._lock:
                if self._applied == self.journal.seq and not self._pending:
                    self.journal.discard()

    def close(self, timeout: float | None = None) -> None:
        limit = timeout_s() if timeout is None else timeout
        started = time.monotonic()
        delivered = self.flush(limit)
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            # It may still be delivering journals of earlier processes: let it finish that.
            self._thread.join(max(0.0, limit - (time.monotonic() - started)))
        with self._lock:
            if delivered and self._applied >= self.journal.seq:
                self.journal.discard()
                return
            self.journal.close()
        left = self._undelivered()
        if self.journal.broken is None:
            log.warning(
                "flowtrack: %d events could not reach %s yet; they are kept in %s and will be "
                "delivered by the next flowtrack process or by `flowtrack sync`",
                left,
                self.delivery.safe_uri,
                self.journal.path,
            )
        else:
            log.error(
                "flowtrack: %d events were lost: the store %s was unreachable and the journal "
                "could not be written (%s)",
                left,
                self.delivery.safe_uri,
                self.journal.broken,
            )


_writers: dict[str, Writer] = {}
_writers_lock = threading.Lock()


def get_writer(uri: str) -> Writer:
    writer = _writers.get(uri)
    if writer is None:
        with _writers_lock:
            writer = _writers.get(uri)
            if writer is None:
                writer = _writers[uri] = Writer(uri)
    return writer


def flush_all(timeout: float | None = None) -> bool:
    return all([w.flush(timeout) for w in list(_writers.values())])


def close_all(timeout: float | None = None) -> None:
    with _writers_lock:
        writers = list(_writers.values())
        _writers.clear()
    for writer in writers:
        try:
            writer.close(timeout)
        except Exception:  # at exit nothing may raise; the journal keeps what was not sent
            log.exception("flowtrack: closing the writer for %s failed", writer.uri)


def _after_fork_in_child() -> None:
    # The child must not append to the parent's journal (duplicate sequence numbers) nor use
    # the parent's threads; it starts its own writers on first use.
    _writers.clear()


atexit.register(close_all)
os.register_at_fork(after_in_child=_after_fork_in_child)

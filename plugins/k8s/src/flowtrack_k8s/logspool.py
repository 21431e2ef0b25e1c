"""Pod logs that could not be stored when their pod ended, kept on disk until they can be.

Kubernetes keeps a pod's logs only as long as the pod, and the artifact store (a bucket, a
server) may be unreachable at that moment. So a log the watcher could not store is written
under ``<FLOWTRACK_HOME>/spool/k8s-logs/``, and the watcher tries again every `RETRY_S` and
when it starts. The folder is bounded (`MAX_BYTES`): past it a log is dropped with a warning
rather than filling the watcher's disk.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

from flowtrack import config
from flowtrack.errors import FlowtrackError, NotFoundError, StoreUnavailableError
from flowtrack.tracking.context import RunState

from flowtrack_k8s import data

log = logging.getLogger("flowtrack.k8s")

RETRY_S = 30.0
MAX_BYTES = 512 * 1024**2
MAX_WAIT_FOR_RUN_S = 7 * 24 * 3600  # a log whose run the store never gets is dropped then


# Bytes held in a spool folder: counted once, then kept up to date by `keep` (and counted
# again after `deliver` removed entries), so a long outage does not walk the whole folder for
# every pod that ends.
_held: dict[Path, int] = {}


def folder() -> Path:
    return config.spool_dir() / "k8s-logs"


def keep(state: RunState, text: bytes, where: str, name: str) -> bool:
    """Write one log to the spool; False (and a warning) if it cannot be kept."""
    root = folder()
    held = _held[root] if root in _held else _size(root)
    meta = json.dumps({"run_id": state.run_id, "uri": state.uri, "folder": where, "name": name})
    size = len(text) + len(meta.encode())
    if held + size > MAX_BYTES:
        log.warning(
            "flowtrack: log %s/%s of run %s dropped: the log spool %s holds %d bytes already",
            where,
            name,
            state.run_id,
            root,
            held,
        )
        return False
    entry = root / uuid.uuid4().hex
    tmp = root / f".{entry.name}.tmp"
    try:
        tmp.mkdir(parents=True)
        (tmp / "log").write_bytes(text)
        (tmp / "meta.json").write_text(meta)
        os.replace(tmp, entry)  # whole or not at all: a retry never sees half an entry
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        log.warning("flowtrack: log %s/%s not kept in %s: %s", where, name, root, exc)
        _held.pop(root, None)  # a partial write may have been left: count again
        return False
    _held[root] = held + size
    return True


def deliver() -> int:
    """Store the spooled logs; how many. Stops at the first one the store refuses for being
    unreachable (the rest would fail the same way) and leaves them for the next try."""
    root = folder()
    if not root.is_dir():
        return 0
    try:
        return _deliver(root)
    finally:
        _held.pop(root, None)  # entries went: count again at the next `keep`


def _deliver(root: Path) -> int:
    done = 0
    for entry in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        try:
            meta = json.loads((entry / "meta.json").read_text())
            text = (entry / "log").read_bytes()
        except (OSError, ValueError) as exc:
            log.warning("flowtrack: unreadable log spool entry %s removed: %s", entry, exc)
            shutil.rmtree(entry, ignore_errors=True)
            continue
        try:
            state = _run_state(meta)
        except StoreUnavailableError as exc:
            log.info("flowtrack: spooled logs wait for the store: %s", exc)
            break
        except NotFoundError:
            # Its create_run may still be on its way from the journal: wait, but not forever.
            if time.time() - entry.stat().st_mtime > MAX_WAIT_FOR_RUN_S:
                log.warning("flowtrack: spooled log %s dropped: run %s never came", entry, meta)
                shutil.rmtree(entry, ignore_errors=True)
            continue
        try:
            data.save_text(state, text, meta["folder"], meta["name"])
        except StoreUnavailableError as exc:
            log.info("flowtrack: spooled logs wait for the artifact store: %s", exc)
            break
        except FlowtrackError as exc:
            log.warning("flowtrack: spooled log %s of run %s dropped: %s", entry, state.run_id, exc)
            shutil.rmtree(entry, ignore_errors=True)
            continue
        shutil.rmtree(entry, ignore_errors=True)
        done += 1
    return done


def _run_state(meta: dict[str, str]) -> RunState:
    """The run with its artifact place, asked with a bounded wait (the watcher's thread must
    not hang on a slow store; nor flush the writer, which waits out the store's absence)."""
    from flowtrack.tracking.bounded import bounded
    from flowtrack.tracking.stores import get_store

    run = bounded(lambda: get_store(meta["uri"]).get_run(meta["run_id"]))
    return RunState(
        run.info.run_id, meta["uri"], None, None, "", None, 0, run.info.artifact_uri, owned=False
    )


class Retrier:
    """Calls `deliver` at most every `RETRY_S` (from the recorder's tick)."""

    def __init__(self, every_s: float | None = None) -> None:
        self.every_s = RETRY_S if every_s is None else every_s
        self.next_at = 0.0  # the first tick tries at once: logs left by an earlier watcher

    def tick(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            return
        self.next_at = now + self.every_s
        try:
            delivered = deliver()
        except Exception:  # never stops the watcher
            log.exception("flowtrack: spooled logs not delivered")
            return
        if delivered:
            log.info("flowtrack: %d spooled pod logs stored", delivered)


def _size(root: Path) -> int:
    if not root.is_dir():
        return 0
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())

"""Handing batches to the store: rejections set aside, plugins told, faults reported once."""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flowtrack.entities import DatasetVersion, Metric, Param, RunStatus, RunTag
from flowtrack.errors import StoreUnavailableError
from flowtrack.plugins import facade
from flowtrack.store.events import Event, Rejection
from flowtrack.tracking import journal as jr
from flowtrack.tracking.stores import get_store

if TYPE_CHECKING:
    from flowtrack.tracking.journal import Journal

log = logging.getLogger("flowtrack")

# Events per transaction: large enough to amortize a commit, small enough to keep it short.
MAX_BATCH = 5000

_NOTIFIED_HOOKS = (
    "flowtrack_run_started",
    "flowtrack_run_finished",
    "flowtrack_metrics_logged",
    "flowtrack_params_logged",
    "flowtrack_tags_set",
    "flowtrack_artifacts_logged",
    "flowtrack_data_versioned",
)


def safe_uri(uri: str) -> str:
    """The URI without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(uri).render_as_string(hide_password=True)
    except Exception:
        return uri.rsplit("@", maxsplit=1)[-1]


class Delivery:
    def __init__(self, uri: str, directory: Path) -> None:
        self.uri = uri
        self.directory = directory
        self.safe_uri = safe_uri(uri)
        self._outage = False

    def apply(self, batch: list[Event], journal_id: str | None) -> None:
        rejections = get_store(self.uri).apply_events(batch, journal_id=journal_id)
        if rejections:
            self.reject(rejections)
        if any(facade.has_listeners(h) for h in _NOTIFIED_HOOKS):
            new_versions: frozenset[str] = getattr(rejections, "new_versions", frozenset())
            self.notify(batch, {id(r.event) for r in rejections}, new_versions)

    def reject(self, rejections: list[Rejection]) -> None:
        """Refused events are reported and kept in rejected.jsonl, never silently dropped."""
        for rejection in rejections[:10]:
            log.error("flowtrack: not logged: %s", rejection)
        if len(rejections) > 10:
            log.error("flowtrack: ... and %d more events were refused", len(rejections) - 10)
        try:
            fd = os.open(
                self.directory / "rejected.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
            )
            with os.fdopen(fd, "a") as f:
                for r in rejections:
                    f.write(json.dumps({"reason": r.reason, "event": r.event}) + "\n")
        except OSError as exc:
            log.error("flowtrack: could not record refused events: %s", exc)

    def notify(
        self, batch: list[Event], rejected: set[int], new_versions: frozenset[str] = frozenset()
    ) -> None:
        metrics: dict[str, list[Metric]] = defaultdict(list)
        params: dict[str, list[Param]] = defaultdict(list)
        tags: dict[str, list[RunTag]] = defaultdict(list)
        started: list[str] = []
        finished: list[Event] = []
        artifacts: list[Event] = []
        versions: dict[str, Event] = {}
        for e in batch:
            if id(e) in rejected:
                continue
            op = e["op"]
            if op == "metric":
                metrics[e["run_id"]].append(Metric(e["key"], e["value"], e["timestamp"], e["step"]))
            elif op == "metrics":
                metrics[e["run_id"]].extend(
                    Metric(k, v, e["timestamp"], e["step"]) for k, v in e["values"].items()
                )
            elif op == "param":
                params[e["run_id"]].append(Param(e["key"], e["value"]))
            elif op == "tag":
                tags[e["run_id"]].append(RunTag(e["key"], e["value"]))
            elif op == "create_run":
                started.append(e["run_id"])
            elif op == "update_run" and e.get("status") in _TERMINAL:
                finished.append(e)
            elif op == "artifacts":
                artifacts.append(e)
            elif op == "dataset" and e["version_id"] in new_versions:
                versions.setdefault(e["version_id"], e)
        if started and facade.has_listeners("flowtrack_run_started"):
            for run in get_store(self.uri).get_runs(started):
                facade.run_started(run)
        for run_id, items in params.items():
            facade.params_logged(run_id, items)
        for run_id, tag_items in tags.items():
            facade.tags_set(run_id, tag_items)
        for run_id, points in metrics.items():
            facade.metrics_logged(run_id, points)
        for e in artifacts:
            facade.artifacts_logged(e["run_id"], e["paths"])
        for e in versions.values():
            facade.data_versioned(_version(e), e.get("run_id"), e.get("direction", "input"))
        for e in finished:
            facade.run_finished(e["run_id"], e["status"], e.get("end_time") or 0)

    def fault(self, exc: BaseException, undelivered: int, journal: Journal) -> None:
        if self._outage:
            return
        self._outage = True
        where = (
            f"kept in {journal.path}"
            if journal.broken is None
            else f"held in memory ({journal.broken})"
        )
        log.warning(
            "flowtrack: the store %s is unavailable (%s); %d events are %s and will be "
            "delivered when it is back",
            self.safe_uri,
            exc,
            undelivered,
            where,
        )

    def recovered(self) -> None:
        if self._outage:
            log.warning("flowtrack: the store %s is back; pending events delivered", self.safe_uri)
        self._outage = False

    def apply_journal(
        self,
        path: Path,
        journal_id: str,
        after_seq: int = 0,
        upto: int | None = None,
        on_applied: Callable[[int], None] | None = None,
    ) -> None:
        """Deliver a journal file's events with after_seq < seq <= upto, in batches;
        ``on_applied(seq)`` hears how far delivery got after each batch."""
        batch: list[Event] = []
        for event in jr.read_events(path, after_seq):
            if upto is not None and event["seq"] > upto:
                break
            batch.append(event)
            if len(batch) >= MAX_BATCH:
                self._apply_batch(batch, journal_id, on_applied)
                batch = []
        if batch:
            self._apply_batch(batch, journal_id, on_applied)

    def _apply_batch(
        self, batch: list[Event], journal_id: str, on_applied: Callable[[int], None] | None
    ) -> None:
        self.apply(batch, journal_id)
        if on_applied is not None:
            on_applied(batch[-1]["seq"])

    def replay_orphans(self, own: Path | None = None) -> int:
        """Deliver journals left by processes that are gone; returns how many were finished."""
        done = 0
        for path in jr.orphans(self.directory, own):
            try:
                with jr.claimed(path) as ours:
                    if not ours:
                        continue
                    self.apply_journal(path, path.stem)
                    path.unlink()
                    done += 1
            except StoreUnavailableError as exc:
                log.warning("flowtrack: could not deliver %s yet: %s", path, exc)
                break  # the store is down: the other journals would fail the same way
            except Exception as exc:
                log.error("flowtrack: could not deliver %s: %s", path, exc)
        return done


def _version(e: Event) -> DatasetVersion:
    creator = e.get("created_by_run_id")
    if creator is None and e.get("direction") == "output":
        creator = e.get("run_id")
    return DatasetVersion(
        version_id=e["version_id"],
        name=e["name"],
        uri=e["uri"],
        digest=e["digest"],
        algorithm=e["algorithm"],
        size=e["size"],
        file_count=e["file_count"],
        mode=e["mode"],
        created_by_run_id=creator,
        created_time=e["created_time"],
    )


_TERMINAL = {RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED}

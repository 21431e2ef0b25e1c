"""Jobs, their pods and their Warning events as flowtrack runs.

A Job is a run (source ``k8s``, source_ref namespace/name/uid) from the first time the
watcher sees it to its final condition: Complete -> FINISHED, Failed -> FAILED. Its pods are
its attempts (tags ``k8s.pod.<pod>.*``); an indexed Job has a child run per completion index
that holds its pods; a CronJob's Jobs are children of one run per CronJob. Run ids come from
the uids (`identity`), so a watcher that restarts, relists or takes over from another replica
writes into the same runs, and a Job whose run already ended is skipped.

Everything is handed to the core's writer (a journal append; delivered in the background,
spooled while the store is down), from one thread, in order: a run's end is always its last
event. A problem with one Job (bad annotation, unreadable input, a 403) becomes a warning tag
on its run, and the watcher goes on. Memory is bounded: an ended Job is forgotten, only its
uid is kept (in a bounded set) so late events about it are ignored.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowtrack import config
from flowtrack.errors import FlowtrackError, NotFoundError, StoreUnavailableError
from flowtrack.store.events import Event
from flowtrack.tracking.context import RunState

from flowtrack_k8s import annotations as ann
from flowtrack_k8s import data, identity, logspool, pods, reconcile
from flowtrack_k8s.annotations import JobConfig

log = logging.getLogger("flowtrack.k8s")

SOURCE = "k8s"
LOG_TAIL_LINES = 5000
LOG_MAX_BYTES = 256 * 1024
MAX_DONE = 50_000  # uids of ended Jobs remembered, to ignore their late events
# Objects seen before their Job (or pod): kept for this many Jobs (or pods), the least recent
# dropped first. Pods of untracked Jobs land here too, so it must stay small.
MAX_PENDING = 2_000
MAX_EARLY_EVENTS = 20  # per object
# How long an ended Job waits for the pod and event streams to catch up with it (they are
# separate watches: its pods' last states and Warning events may still be on their way).
CLOSE_GRACE_S = 5.0
Obj = dict[str, Any]


@dataclass(eq=False)
class Tracked:
    """A Job being recorded."""

    uid: str
    namespace: str
    name: str
    state: RunState
    config: JobConfig
    indexed: bool
    parent: RunState | None
    pods: dict[str, str] = field(default_factory=dict)  # pod uid -> recorded signature
    logs_saved: set[str] = field(default_factory=set)
    attempts: dict[str, set[str]] = field(default_factory=dict)  # run id -> its pods' uids
    index_runs: dict[int, RunState] = field(default_factory=dict)
    index_ended: set[int] = field(default_factory=set)


@dataclass(eq=False)
class Closing:
    """An ended Job waiting for the other streams (see `Recorder.tick`)."""

    job: Obj
    outcome: tuple[str, str, str, int | None]
    deadline: float
    mark: int | None = None


def _tags(run_id: str, tags: dict[str, str]) -> list[Event]:
    # Not the core's _tag_events: it remembers every valid key, and pod names are endless.
    # Keys here come from Kubernetes names, which are within flowtrack's key characters.
    return [
        {"op": "tag", "run_id": run_id, "key": k[:250], "value": pods.text(v)}
        for k, v in tags.items()
    ]


class Recorder:
    """Turns the informers' objects into run events. Not thread-safe: one thread calls it."""

    def __init__(
        self,
        core: Any = None,
        log_max_bytes: int = LOG_MAX_BYTES,
        caught_up: Callable[[str], int | None] | None = None,
        close_grace_s: float = CLOSE_GRACE_S,
        namespace: str | None = None,
    ) -> None:
        self.core = core  # a CoreV1Api for pod lists and logs (None: neither is read)
        self.namespace = namespace  # the watched one (None: all), for `reconcile`
        self.log_retrier = logspool.Retrier()
        self.log_max_bytes = log_max_bytes
        # None until the other streams have seen everything up to a resourceVersion; then the
        # number of items to handle (`position`) before all that is recorded.
        self.caught_up = caught_up or (lambda version: 0)
        self.close_grace_s = close_grace_s
        self.closing: dict[str, Closing] = {}
        self.position = 0  # informer items handled
        self.jobs: dict[str, Tracked] = {}
        self.done: OrderedDict[str, None] = OrderedDict()
        self.pending: OrderedDict[str, dict[str, Obj]] = OrderedDict()  # job -> pod uid -> pod
        self.pod_jobs: dict[str, str] = {}  # pod uid -> job uid, for the Jobs being recorded
        # Warning events about objects not seen yet (their stream may be behind), by uid.
        self.early_events: OrderedDict[str, list[Obj]] = OrderedDict()
        self.handled = 0

    # -- dispatch ------------------------------------------------------------------------

    def handle(self, resource: str, kind: str, obj: Any) -> None:
        """One informer item; never raises (a failure is logged, the watcher goes on)."""
        self.position += 1
        items = obj if kind == "SYNC" else [obj]
        if resource == "jobs" and kind == "SYNC":
            listed = {str((i.get("metadata") or {}).get("uid") or "") for i in items}
            reconcile.close_vanished(listed, self.namespace)
        for item in items:
            self.handled += 1
            try:
                if resource == "jobs":
                    if kind == "DELETED":
                        self.job_deleted(item)
                    else:
                        self.job(item)
                elif resource == "pods":
                    self.pod(item)
                elif resource == "events":
                    self.event(item)
            except Exception:
                meta = item.get("metadata") or {}
                log.exception(
                    "flowtrack: could not record %s %s/%s",
                    resource,
                    meta.get("namespace"),
                    meta.get("name"),
                )

    def _submit(self, state: RunState, events: list[Event]) -> None:
        from flowtrack.tracking.policy import submit

        if events:
            submit(state, events)

    # -- Jobs --------------------------------------------------------------------------

    def job(self, job: Obj) -> None:
        meta = job.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        if not uid or uid in self.done or not ann.is_tracked(meta.get("labels")):
            return
        outcome = pods.job_outcome(job)
        tracked = self.jobs.get(uid)
        if tracked is None:
            wanted = ann.parse(meta.get("annotations"), meta.get("labels"))
            run_id = identity.job_run_id(uid, wanted.run_id)
            if outcome is not None and self._ended_in_store(run_id):
                self._forget(uid)  # recorded before a restart, or by another replica
                return
            tracked = self._open(job, wanted, run_id)
            for pod in self.pending.pop(uid, {}).values():
                self.pod(pod)
            for early in self.early_events.pop(uid, []):
                self.event(early)
        if outcome is not None and uid not in self.closing:
            self.closing[uid] = Closing(job, outcome, time.monotonic() + self.close_grace_s)
            self.tick()

    def tick(self) -> None:
        """End the Jobs whose streams have caught up with their end (or waited long enough),
        and retry the pod logs the artifact store could not take."""
        self.log_retrier.tick()
        now = time.monotonic()
        for uid, closing in list(self.closing.items()):
            if closing.mark is None:
                meta = closing.job.get("metadata") or {}
                closing.mark = self.caught_up(str(meta.get("resourceVersion") or ""))
            ready = closing.mark is not None and self.position >= closing.mark
            if not ready and now < closing.deadline:
                continue
            del self.closing[uid]
            tracked = self.jobs.get(uid)
            if tracked is not None:
                try:
                    self._close(tracked, closing.job, closing.outcome)
                except Exception:
                    log.exception("flowtrack: could not end the run of Job %s", tracked.name)
                    self._forget(uid)

    def _ended_in_store(self, run_id: str) -> bool:
        from flowtrack.tracking.bounded import bounded
        from flowtrack.tracking.stores import get_store

        try:
            run = bounded(lambda: get_store(config.get_tracking_uri()).get_run(run_id))
        except (NotFoundError, StoreUnavailableError, FlowtrackError):
            return False
        return str(run.info.status) != "RUNNING"

    def _run_state(
        self, run_id: str, name: str, experiment: str | None, parent: str | None, start: int
    ) -> RunState:
        from flowtrack.tracking import runs

        uri = config.get_tracking_uri()
        exp_name = experiment or "Default"
        artifact_uri = None
        exp_id = None
        try:  # cached per experiment: one store call per experiment, not per Job
            found = runs._resolve_experiment(uri, exp_name)
            exp_id = found.experiment_id
            artifact_uri = f"{found.artifact_location.rstrip('/')}/{run_id}/artifacts"
        except FlowtrackError:
            pass  # store down: the run is created on delivery, its artifact place asked later
        return RunState(
            run_id=run_id,
            uri=uri,
            experiment_id=exp_id,
            experiment_name=None if exp_id else exp_name,
            run_name=name[:250],
            parent_run_id=parent,
            start_time=start,
            artifact_uri=artifact_uri,
        )

    def _create(self, state: RunState, ref: dict[str, Any], tags: dict[str, str]) -> Event:
        from flowtrack.tracking.runs import create_event

        return create_event(state, SOURCE, ref, {k: pods.text(v) for k, v in tags.items() if v})

    def _cronjob_parent(self, job: Obj, experiment: str | None, start: int) -> RunState | None:
        ref = pods.owner(job, "CronJob")
        if ref is None or not ref.get("uid"):
            return None
        ns = (job.get("metadata") or {}).get("namespace", "")
        state = self._run_state(
            identity.cronjob_run_id(str(ref["uid"])), str(ref.get("name")), experiment, None, start
        )
        tags = {"k8s.namespace": ns, "k8s.cronjob": str(ref.get("name")), "k8s.kind": "CronJob"}
        create = self._create(
            state, {"namespace": ns, "cronjob": ref.get("name"), "uid": ref["uid"]}, tags
        )
        # RUNNING again while one of its Jobs runs; ends as its latest Job did.
        self._submit(
            state, [create, {"op": "update_run", "run_id": state.run_id, "status": "RUNNING"}]
        )
        return state

    def _open(self, job: Obj, config: JobConfig, run_id: str) -> Tracked:
        meta, spec = job.get("metadata") or {}, job.get("spec") or {}
        uid, ns, name = str(meta["uid"]), str(meta.get("namespace", "")), str(meta.get("name"))
        start = (
            pods.millis((job.get("status") or {}).get("startTime"))
            or pods.millis(meta.get("creationTimestamp"))
            or int(time.time() * 1000)
        )
        parent = self._cronjob_parent(job, config.experiment, start)
        parent_id = config.parent_run_id or (parent.run_id if parent else None)
        state = self._run_state(run_id, name, config.experiment, parent_id, start)
        tags = {
            "k8s.namespace": ns,
            "k8s.job": name,
            "k8s.uid": uid,
            "k8s.kind": "Job",
            "k8s.completion_mode": str(spec.get("completionMode") or "NonIndexed"),
            "k8s.backoff_limit": str(spec.get("backoffLimit", "")),
            "k8s.completions": str(spec.get("completions", "")),
        }
        if parent is not None:
            tags["k8s.cronjob"] = parent.run_name
        for key, value in (meta.get("labels") or {}).items():
            tags[f"k8s.label.{key}"] = str(value)
        events: list[Event] = [
            self._create(state, {"namespace": ns, "name": name, "uid": uid}, tags)
        ]
        params = {**config.params, **pods.resources_params(job)}
        events += [
            {"op": "param", "run_id": run_id, "key": k, "value": pods.text(v, 6000)}
            for k, v in params.items()
        ]
        tracked = Tracked(
            uid, ns, name, state, config, spec.get("completionMode") == "Indexed", parent
        )
        self.jobs[uid] = tracked
        self._submit(state, events)
        for problem in config.problems:
            self.warn(tracked, f"k8s.warning.{problem.annotation}", str(problem))
        for uri in config.inputs:
            self._version(tracked, uri, "input")
        return tracked

    def warn(self, tracked: Tracked, key: str, message: str, state: RunState | None = None) -> None:
        """A warning on the run (a tag) and in the watcher's log."""
        log.warning("flowtrack: Job %s/%s: %s", tracked.namespace, tracked.name, message)
        target = state or tracked.state
        self._submit(target, _tags(target.run_id, {key: message}))

    def _version(self, tracked: Tracked, uri: str, direction: str) -> None:
        annotation = ann.INPUTS if direction == "input" else ann.OUTPUTS
        try:
            data.version(tracked.state, uri, direction)
        except FlowtrackError as exc:
            self.warn(
                tracked,
                f"k8s.warning.{annotation}",
                f"annotation {annotation} value {uri!r} was not versioned: {exc}",
            )

    def _close(self, tracked: Tracked, job: Obj, outcome: tuple[str, str, str, int | None]) -> None:
        status, reason, message, end = outcome
        for pod in self._list_pods(tracked):
            self.pod(pod)
        end_ms = end or int(time.time() * 1000)
        for index, state in sorted(tracked.index_runs.items()):
            if index not in tracked.index_ended:
                self._end(state, "FAILED", end_ms)
        job_status = job.get("status") or {}
        tags = {
            "k8s.succeeded": str(job_status.get("succeeded", 0)),
            "k8s.failed": str(job_status.get("failed", 0)),
            "k8s.attempts": str(len(tracked.pods)),
        }
        if reason:
            tags["k8s.reason"] = reason
        if status == "FAILED":
            tags["flowtrack.error"] = f"{reason}: {message}" if message else reason
        self._submit(tracked.state, _tags(tracked.state.run_id, tags))
        if status == "FINISHED":
            for uri in tracked.config.outputs:
                self._version(tracked, uri, "output")
            if tracked.config.register_model and tracked.config.outputs:
                self._register(tracked)
        self._end(tracked.state, status, end_ms)
        if tracked.parent is not None:
            self._end(tracked.parent, status, end_ms)
        self._forget(tracked.uid)

    def _register(self, tracked: Tracked) -> None:
        model, output = tracked.config.register_model or "", tracked.config.outputs[0]
        try:
            found = data.register(tracked.state, output, model)
        except Exception as exc:  # the registry refused, or the store is down
            self.warn(
                tracked,
                f"k8s.warning.{ann.REGISTER_MODEL}",
                f"annotation {ann.REGISTER_MODEL}={model!r}: {output!r} was not registered: {exc}",
            )
            return
        self._submit(
            tracked.state, _tags(tracked.state.run_id, {"k8s.model_version": f"{model}/{found}"})
        )

    def _end(self, state: RunState, status: str, end_ms: int) -> None:
        self._submit(
            state,
            [{"op": "update_run", "run_id": state.run_id, "status": status, "end_time": end_ms}],
        )

    def job_deleted(self, job: Obj) -> None:
        """A Job deleted before it ended: its run ends KILLED."""
        uid = str((job.get("metadata") or {}).get("uid") or "")
        tracked = self.jobs.get(uid)
        if tracked is None:
            return
        outcome = pods.job_outcome(job)
        if outcome is not None:
            self._close(tracked, job, outcome)
            return
        self.warn(tracked, "k8s.warning.deleted", "the Job was deleted before it ended")
        now = int(time.time() * 1000)
        for index, state in tracked.index_runs.items():
            if index not in tracked.index_ended:
                self._end(state, "KILLED", now)
        self._end(tracked.state, "KILLED", now)
        if tracked.parent is not None:
            self._end(tracked.parent, "KILLED", now)
        self._forget(uid)

    def _forget(self, uid: str) -> None:
        tracked = self.jobs.pop(uid, None)
        if tracked is not None:
            for pod_uid in tracked.pods:
                self.pod_jobs.pop(pod_uid, None)
        self.pending.pop(uid, None)
        self.closing.pop(uid, None)
        self.done[uid] = None
        while len(self.done) > MAX_DONE:
            self.done.popitem(last=False)

    # -- pods --------------------------------------------------------------------------

    def _list_pods(self, tracked: Tracked) -> list[Obj]:
        """The Job's pods now (its last pods' final states may not have been watched yet)."""
        if self.core is None:
            return []
        import json

        try:
            resp = self.core.list_namespaced_pod(
                tracked.namespace,
                label_selector=f"batch.kubernetes.io/controller-uid={tracked.uid}",
                _preload_content=False,
                _request_timeout=(5, 30),
            )
            try:
                return list(json.loads(resp.data).get("items") or [])
            finally:
                resp.release_conn()
        except Exception as exc:
            self.warn(
                tracked, "k8s.warning.pods", f"could not list the Job's pods: {_api_error(exc)}"
            )
            return []

    def pod(self, pod: Obj) -> None:
        job_uid = pods.job_of_pod(pod)
        if not job_uid:
            return
        tracked = self.jobs.get(job_uid)
        if tracked is None:
            if job_uid not in self.done:  # its Job may arrive later on its own stream
                # Only each pod's latest state: a long untracked Job must not pile them up.
                pod_uid = str((pod.get("metadata") or {}).get("uid") or "")
                self.pending.setdefault(job_uid, {})[pod_uid] = pod
                self.pending.move_to_end(job_uid)
                while len(self.pending) > MAX_PENDING:
                    self.pending.popitem(last=False)
            return
        meta = pod.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        sig = pods.signature(pod)
        if tracked.pods.get(uid) == sig:
            return
        tracked.pods[uid] = sig
        self.pod_jobs[uid] = job_uid
        for early in self.early_events.pop(uid, []):
            self.event(early)
        state = self._attempt_run(tracked, pod)
        tags, warnings = pods.pod_tags(pod)
        attempts = tracked.attempts.setdefault(state.run_id, set())
        attempts.add(uid)
        tags["k8s.attempts"] = str(len(attempts))
        for key in ("exit_code", "reason"):  # the latest attempt's, on the run itself
            value = tags.get(f"k8s.pod.{meta.get('name')}.{key}")
            if value:
                tags[f"k8s.{key}"] = value
        self._submit(state, _tags(state.run_id, tags))
        for key, message in warnings:
            self.warn(tracked, key, message, state)
        if pods.ended(pod) and uid not in tracked.logs_saved:
            tracked.logs_saved.add(uid)
            self._save_logs(tracked, pod, state)
        index = pods.completion_index(pod)
        phase = (pod.get("status") or {}).get("phase")
        succeeded = tracked.indexed and index is not None and phase == "Succeeded"
        if succeeded and index not in tracked.index_ended:
            assert index is not None
            tracked.index_ended.add(index)
            self._end(state, "FINISHED", pods.finished_at(pod) or int(time.time() * 1000))

    def _attempt_run(self, tracked: Tracked, pod: Obj) -> RunState:
        """The run a pod's attempt belongs to: its completion index's child run, or the Job's."""
        index = pods.completion_index(pod)
        if not tracked.indexed or index is None:
            return tracked.state
        state = tracked.index_runs.get(index)
        if state is None:
            parent = tracked.state
            start = pods.millis((pod.get("metadata") or {}).get("creationTimestamp")) or int(
                time.time() * 1000
            )
            state = self._run_state(
                identity.index_run_id(parent.run_id, index),
                f"{tracked.name}[{index}]",
                tracked.config.experiment,
                parent.run_id,
                start,
            )
            state.experiment_id = parent.experiment_id or state.experiment_id
            tags = {
                "k8s.namespace": tracked.namespace,
                "k8s.job": tracked.name,
                "k8s.completion_index": str(index),
            }
            ref = {
                "namespace": tracked.namespace,
                "name": tracked.name,
                "uid": tracked.uid,
                "index": index,
            }
            self._submit(state, [self._create(state, ref, tags)])
            tracked.index_runs[index] = state
        return state

    def _save_logs(self, tracked: Tracked, pod: Obj, state: RunState) -> None:
        if self.core is None:
            return
        meta = pod.get("metadata") or {}
        for container in (pod.get("spec") or {}).get("containers") or []:
            cname = container.get("name", "")
            try:
                resp = self.core.read_namespaced_pod_log(
                    meta.get("name"),
                    meta.get("namespace"),
                    container=cname,
                    tail_lines=LOG_TAIL_LINES,
                    _preload_content=False,
                    _request_timeout=(5, 60),
                )
                try:
                    text = resp.data
                finally:
                    resp.release_conn()
            except Exception as exc:
                self.warn(
                    tracked,
                    f"k8s.warning.logs.{meta.get('name')}",
                    f"logs of pod {meta.get('name')} container {cname} not read: {_api_error(exc)}",
                    state,
                )
                continue
            if len(text) > self.log_max_bytes:  # the tail is what explains an ending
                text = (
                    b"[... cut: the first bytes are not kept ...]\n" + text[-self.log_max_bytes :]
                )
            where, name = f"k8s/logs/{meta.get('name')}", f"{cname}.log"
            if state.artifact_uri is None:
                # The store was down when the run began: asking it now would hold this thread
                # for the writer's flush timeout. The spool's retry asks with a bounded wait.
                logspool.keep(state, text, where, name)
                continue
            try:
                data.save_text(state, text, where, name)
            except StoreUnavailableError as exc:
                # The pod's logs go when the pod does: keep them until the store is back.
                if logspool.keep(state, text, where, name):
                    log.warning("flowtrack: logs of pod %s kept to store later: %s", where, exc)
            except FlowtrackError as exc:
                log.warning("flowtrack: logs of pod %s not stored: %s", meta.get("name"), exc)

    # -- events ------------------------------------------------------------------------

    def event(self, event: Obj) -> None:
        if event.get("type") != "Warning":
            return
        involved = event.get("involvedObject") or {}
        uid = str(involved.get("uid") or "")
        job_uid = uid if uid in self.jobs else self.pod_jobs.get(uid)
        tracked = self.jobs.get(job_uid or "")
        if tracked is None:
            if uid and uid not in self.done:
                early = self.early_events.setdefault(uid, [])
                early.append(event)
                del early[:-MAX_EARLY_EVENTS]
                self.early_events.move_to_end(uid)
                while len(self.early_events) > MAX_PENDING:
                    self.early_events.popitem(last=False)
            return
        reason = str(event.get("reason") or "Warning")
        count = event.get("count") or 1
        message = f"{involved.get('kind')}/{involved.get('name')}: {event.get('message', '')}"
        if count and int(count) > 1:
            message += f" (x{count})"
        self._submit(tracked.state, _tags(tracked.state.run_id, {f"k8s.event.{reason}": message}))


def _api_error(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    if status == 403:
        return "403 Forbidden: the watcher's ServiceAccount lacks the RBAC verb for it"
    reason = getattr(exc, "reason", None)
    return f"{status} {reason}" if status else f"{type(exc).__name__}: {exc}"

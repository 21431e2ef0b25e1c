"""Task inputs and return values as dataset versions, versioned off the task's thread.

A task's file and URL arguments become inputs of its run; with ``version_outputs`` its return
value becomes an output: a path or URL by its content, any other object through the core's
serializers (DataFrame -> parquet, ndarray -> npy, str, bytes, JSON-able dict or list). An
object no serializer handles is recorded as unversioned (a tag and a warning). Numbers and
booleans are results, not data: they are kept as a tag.

Hashing and writing happen on one background thread, in a copy of the task's context (so the
task's run is the active run there); the flow run waits for them before it ends.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from pathlib import PurePath
from typing import Any

log = logging.getLogger("flowtrack.prefect")

UNVERSIONED_TAG = "flowtrack.prefect.unversioned"
RESULT_TAG = "prefect.result"
# A string argument is taken for a path only if it looks like one: a separator or a suffix.
_PATHLIKE = re.compile(r"^[^\n\x00]{1,4096}$")
_MAX_PATH_CHECK = 4096

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowtrack-prefect")
        return _executor


def in_background(job: Callable[[], None]) -> Future[None]:
    """Run ``job`` on the lineage thread in a copy of the caller's context; errors are logged."""
    ctx = contextvars.copy_context()

    def run() -> None:
        try:
            ctx.run(job)
        except Exception:  # tracking never fails the flow
            log.warning("flowtrack: versioning failed", exc_info=True)

    return _pool().submit(run)


def wait(futures: list[Future[None]], timeout: float) -> bool:
    """True if all ``futures`` finished within ``timeout`` seconds."""
    if not futures:
        return True
    _, pending = wait_futures(futures, timeout=timeout)
    return not pending


def _fsspec_protocol(text: str) -> str | None:
    if "://" not in text:
        return None
    protocol = text.split("://", 1)[0].lower()
    try:
        from fsspec.registry import known_implementations, registry
    except ImportError:  # pragma: no cover - fsspec is a core dependency
        return None
    return protocol if protocol in known_implementations or protocol in registry else None


def data_reference(value: Any) -> str | os.PathLike[str] | None:
    """The path or URL ``value`` names, if it names data; cheap (no file system access)."""
    if isinstance(value, PurePath):
        return value
    if not isinstance(value, str) or not _PATHLIKE.match(value):
        return None
    protocol = _fsspec_protocol(value)
    if protocol is not None:
        return value
    if os.sep in value or "/" in value or PurePath(value).suffix:
        return os.path.abspath(value)  # now: the task may change the working directory later
    return None


def _is_local(target: str | os.PathLike[str]) -> bool:
    return isinstance(target, PurePath) or _fsspec_protocol(str(target)) in (None, "file")


def _local_exists(target: str | os.PathLike[str]) -> bool:
    path = str(target)
    if path.startswith("file://"):
        path = path[len("file://") :]
    return os.path.exists(path)


def version_inputs(parameters: Mapping[str, Any]) -> Callable[[], None] | None:
    """A job that logs the file and URL arguments as inputs of the active run (None if none)."""
    found = {name: ref for name, value in parameters.items() if (ref := data_reference(value))}
    if not found:
        return None

    def job() -> None:
        import flowtrack

        for ref in found.values():
            if _is_local(ref) and not _local_exists(ref):
                continue  # a string that looked like a path but names nothing
            flowtrack.log_input(ref)

    return job


def _safe_name(task_name: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", task_name).strip("._")[:100] or "result"


def version_output(value: Any, task_name: str) -> Callable[[], None] | None:
    """A job that logs ``value`` as an output of the active run (None if nothing to do)."""
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        return lambda: _tag(RESULT_TAG, repr(value))
    ref = data_reference(value)

    def job() -> None:
        import flowtrack
        from flowtrack.tracking.datasets import log_object_output

        if ref is not None and (not _is_local(ref) or _local_exists(ref)):
            flowtrack.log_output(ref)
        elif _versionable(value):
            log_object_output(value, _safe_name(task_name))
        else:
            kind = f"{type(value).__module__}.{type(value).__qualname__}"
            log.warning(
                "flowtrack: the result of task %r (%s) was not versioned: no serializer "
                "handles it; register one with the flowtrack_register_serializers hook",
                task_name,
                kind,
            )
            _tag(UNVERSIONED_TAG, kind)

    return job


def _versionable(value: Any) -> bool:
    from flowtrack.plugins import facade

    for spec in facade.serializers():
        try:
            if spec.handles(value):
                return True
        except Exception as exc:  # a plugin's check failing means it does not handle it
            log.debug("flowtrack: serializer %s failed on %s: %s", spec.name, type(value), exc)
    return False


def _tag(key: str, value: str) -> None:
    import flowtrack

    from flowtrack_prefect.params import truncate

    flowtrack.set_tag(key, truncate(value, 1000))

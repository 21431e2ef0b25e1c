"""In a PySpark driver: the application's run is the run ``flowtrack.log_*`` calls land in.

The listener's events reach the store through the ingest helper, maybe later; the driver does
not wait for them. It creates the run itself (same id, same fields: whoever is first makes
it) and logs to it, so a driver started by ``spark-submit`` with only the conf lines, or with
`flowtrack_spark.configure`, needs no run handling.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from types import TracebackType
from typing import Any

from flowtrack.tracking.context import RunState

from flowtrack_spark import jar, recorder, settings

_lock = threading.Lock()
# SparkContext object id -> (the context, its run or None when it is not tracked). The weak
# reference tells a live context from a stopped one whose id Python has since reused: its
# run is not the new application's.
_known: dict[int, tuple[weakref.ref[Any], RunState | None]] = {}


def _active_context() -> Any | None:
    pyspark = sys.modules.get("pyspark")
    context_class = getattr(pyspark, "SparkContext", None)
    return getattr(context_class, "_active_spark_context", None)


def current_run() -> RunState | None:
    sc = _active_context()
    if sc is None:
        return None
    key = id(sc)
    entry = _known.get(key)
    if entry is not None and entry[0]() is sc:
        return entry[1]
    with _lock:
        entry = _known.get(key)
        if entry is None or entry[0]() is not sc:
            entry = _known[key] = (weakref.ref(sc), _start(sc))
    return entry[1]


def _start(sc: Any) -> RunState | None:
    conf = dict(sc.getConf().getAll())
    if jar.LISTENER not in conf.get("spark.extraListeners", ""):
        return None
    install_excepthook()
    flowtrack_conf = {
        k[len(settings.PREFIX) :]: v for k, v in conf.items() if k.startswith(settings.PREFIX)
    }
    uri = recorder.run_uri(flowtrack_conf)
    app_id = str(sc.applicationId)
    run_id = settings.app_run_id(uri, app_id)
    experiment = flowtrack_conf.get("experiment") or os.environ.get("FLOWTRACK_EXPERIMENT")
    parent = flowtrack_conf.get("parentRunId") or os.environ.get("FLOWTRACK_RUN_ID") or None
    item = {
        "name": conf.get("spark.app.name"),
        "time": int(sc.startTime),
        "user": sc.sparkUser(),
        "flowtrack": flowtrack_conf,
    }
    create = recorder.create_run(run_id, app_id, item, experiment or None, parent)
    recorder.submit(uri, [create])
    return RunState(
        run_id=run_id,
        uri=uri,
        experiment_id=create["experiment_id"],
        experiment_name=create["experiment_name"],
        run_name=create["run_name"],
        parent_run_id=parent,
        start_time=create["start_time"],
        artifact_uri=None,
        owned=False,
    )


def forget() -> None:
    """Drop what is known of sessions (tests that stop and start Spark in one process)."""
    with _lock:
        _known.clear()


_hooked = False
_hook_lock = threading.Lock()  # not _lock: _start (which installs the hook) runs under it


def install_excepthook() -> None:
    """Tell the listener when this driver dies of an uncaught exception, so the application's
    run ends FAILED: the JVM stops the SparkContext after Python has exited, and no Spark
    event carries the reason. Chained before the hook in place; installed once."""
    global _hooked
    with _hook_lock:
        if _hooked:
            return
        _hooked = True
        previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        report_failure(f"{kind.__name__}: {value}")
        previous(kind, value, tb)

    sys.excepthook = hook


def report_failure(message: str) -> None:
    """Hand ``message`` to the listener in this driver's JVM, if the session has one."""
    sc = _active_context()
    if sc is None:
        return
    try:
        if jar.LISTENER in (sc.getConf().get("spark.extraListeners") or ""):
            sc._jvm.dev.flowtrack.spark.FlowtrackListener.driverFailed(message[:4000])
    except Exception:  # the driver is dying of its own error: add none
        return

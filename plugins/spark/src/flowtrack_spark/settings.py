"""The Spark conf that enables tracking, for spark-defaults.conf, spark-submit or a builder.

The ``spark.flowtrack.*`` keys (docs/spark.md): ``trackingUri``, ``experiment``, ``runName``,
``parentRunId``, ``spoolDir``, ``queueSize``, ``python``, ``helper``, ``referenceAbove`` and
``params``. The listener's Java side knows the same list (Settings.java).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from flowtrack import config
from flowtrack.errors import InvalidInputError

from flowtrack_spark import jar

PREFIX = "spark.flowtrack."
KEYS = (
    "trackingUri",
    "experiment",
    "runName",
    "parentRunId",
    "spoolDir",
    "queueSize",
    "python",
    "helper",
    "referenceAbove",
    "params",
)
# Data above this many bytes is fingerprinted from its metadata instead of hashed and copied.
DEFAULT_REFERENCE_ABOVE = 256 * 1024 * 1024
# Fixed forever: the run id of an application must not change between flowtrack versions.
_NAMESPACE = uuid.UUID("0b6f7f0e-5d0a-5a7e-8c1e-2f1d6a0c9e44")


def app_run_id(tracking_uri: str, app_id: str) -> str:
    """The run id of a Spark application in a store: the same in every process that asks."""
    return uuid.uuid5(_NAMESPACE, json.dumps(["spark_app", tracking_uri, app_id])).hex


def spool_dir(explicit: str | None = None) -> Path:
    """Where listeners write their spool files (the Java default is the same folder)."""
    return Path(explicit).expanduser() if explicit else config.spool_dir() / "spark"


def check_uri(uri: str) -> str:
    """``uri`` normalised, or a clear error naming it when no store handles its scheme."""
    from flowtrack.plugins import facade

    normal = config.normalize_uri(uri)
    scheme = normal.split(":", 1)[0].split("+", 1)[0]
    known = {s for spec in facade.stores() for s in spec.schemes}
    if scheme not in known:
        raise InvalidInputError(
            "spark.flowtrack.trackingUri",
            uri,
            f"no store handles the scheme {scheme!r} (known: {', '.join(sorted(known))})",
        )
    return normal


def check_keys(conf: dict[str, str]) -> list[str]:
    """Warnings for ``spark.flowtrack.*`` keys the listener does not know."""
    return [
        f"unknown Spark conf key {key} (ignored); known keys: "
        + ", ".join(PREFIX + k for k in KEYS)
        for key in conf
        if key.startswith(PREFIX) and key[len(PREFIX) :] not in KEYS
    ]


def conf(
    jar_path: Path | str,
    experiment: str | None = None,
    tracking_uri: str | None = None,
    python: str | None = None,
) -> dict[str, str]:
    """The conf keys that enable tracking with the listener jar at ``jar_path``."""
    values = {
        "spark.jars": str(jar_path),
        "spark.extraListeners": jar.LISTENER,
        "spark.sql.queryExecutionListeners": jar.QUERY_LISTENER,
        # The listener starts `python -m flowtrack_spark ingest` with it (docs/spark.md).
        PREFIX + "python": python or sys.executable,
    }
    if tracking_uri:
        values[PREFIX + "trackingUri"] = check_uri(tracking_uri)
    if experiment:
        values[PREFIX + "experiment"] = experiment
    return values


def defaults_lines(values: dict[str, str]) -> str:
    return "".join(f"{k} {v}\n" for k, v in values.items())


def install(values: dict[str, str], conf_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write ``values`` into spark-defaults.conf under SPARK_CONF_DIR, replacing the lines of
    the same keys and keeping the others; returns the file's path."""
    folder = conf_dir or os.environ.get("SPARK_CONF_DIR")
    if not folder:
        raise InvalidInputError(
            "SPARK_CONF_DIR", None, "is not set; set it or pass --conf-dir to say where"
        )
    path = Path(folder).expanduser() / "spark-defaults.conf"
    kept: list[str] = []
    if path.exists():
        for line in path.read_text().splitlines():
            key = line.strip().split(None, 1)[0] if line.strip() else ""
            if key not in values:
                kept.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(kept).rstrip("\n")
    text = (text + "\n" if text else "") + "# flowtrack (flowtrack-spark install-conf)\n"
    tmp = path.with_name(path.name + ".flowtrack-tmp")
    tmp.write_text(text + defaults_lines(values))
    os.replace(tmp, path)
    return path


def configure(builder: Any, experiment: str | None = None, tracking_uri: str | None = None) -> Any:
    """Add the tracking conf to a ``SparkSession.builder`` and return it.

    The listener classes are only added when the jar is there (built here if a JDK is found):
    a class name Spark cannot load would stop the session from starting. Without a JDK a
    warning says why, and the builder is returned unchanged.
    """
    import logging

    log = logging.getLogger("flowtrack.spark")
    try:
        path = jar.build()
    except jar.JarError as exc:
        log.warning("flowtrack: Spark tracking is off: %s", exc)
        return builder
    from flowtrack_spark import driver  # here: driver imports this module

    driver.install_excepthook()
    existing = getattr(builder, "_options", {})
    for key, value in conf(path, experiment, tracking_uri).items():
        builder = builder.config(key, _merged(existing.get(key), value) if key in LISTS else value)
    return builder


# Comma-separated keys the user may have set already: ours are added, theirs kept.
LISTS = ("spark.jars", "spark.extraListeners", "spark.sql.queryExecutionListeners")


def _merged(current: str | None, ours: str) -> str:
    items = [x.strip() for x in (current or "").split(",") if x.strip()]
    return ",".join(items if ours in items else [*items, ours])

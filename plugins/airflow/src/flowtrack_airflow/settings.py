"""The ``[flowtrack]`` section of airflow.cfg (or ``AIRFLOW__FLOWTRACK__*`` variables).

::

    [flowtrack]
    tracking_uri = http://flowtrack.internal:5000   # else FLOWTRACK_TRACKING_URI, else local
    experiment = pipelines                           # else FLOWTRACK_EXPERIMENT, else the dag_id
    mode = all                                       # or opt_in: only DAGs that opt in
    opt_in_tag = flowtrack                           # the DAG tag that opts a DAG in
    dags = train_churn, score_churn                  # only these DAGs (default: all)
    exclude_dags = scratch                           # never these
    version_returns = false                          # task return values as outputs
    namespace = prod                                 # keeps two Airflow deployments apart
    enabled = true

A malformed section is reported once per process in the Airflow log, naming the key and the
value, and tracking is then off in that process: tasks run as if the plugin were absent.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from dataclasses import dataclass
from typing import Any

from flowtrack import config
from flowtrack.errors import InvalidInputError
from flowtrack.validation import validate_experiment_name

from flowtrack_airflow import selection

log = logging.getLogger("flowtrack.airflow")

SECTION = "flowtrack"
ENV_PREFIX = "AIRFLOW__FLOWTRACK__"
KEYS = frozenset(
    {
        "tracking_uri",
        "experiment",
        "dags",
        "exclude_dags",
        "namespace",
        "enabled",
        "mode",
        "opt_in_tag",
        "version_returns",
    }
)
MODES = ("all", "opt_in")
DEFAULT_TAG = "flowtrack"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
_URI_RE = re.compile(r"^(sqlite|postgresql(\+\w+)?|https?|file)://", re.IGNORECASE)
_DAG_ID_RE = re.compile(r"^[\w.-]{1,250}$")
# Airflow's own limit for a DAG tag is 100 characters.
_TAG_RE = re.compile(r"^[^,\s][^,]{0,99}$")


@dataclass(frozen=True)
class Settings:
    """What the ``[flowtrack]`` section asks for; ``enabled=False`` records nothing."""

    enabled: bool = True
    tracking_uri: str | None = None
    experiment: str | None = None
    dags: frozenset[str] | None = None  # None: every DAG
    exclude_dags: frozenset[str] = frozenset()
    namespace: str = ""
    mode: str = "all"  # "opt_in": only DAGs listed in `dags`, tagged or with the param
    opt_in_tag: str = DEFAULT_TAG
    version_returns: bool = False

    def tracks(self, dag_id: str, dag: Any = None) -> bool:
        """Whether DAG ``dag_id`` is recorded; ``dag`` (the DAG object the hook holds, if any)
        gives its tags and params. The precedence is documented in docs/airflow.md."""
        if not self.enabled or dag_id in self.exclude_dags:
            return False
        declared = selection.dag_flag(dag)
        if declared is not None:
            return declared
        if self.dags is not None and dag_id in self.dags:
            return True
        if self.mode == "opt_in":
            return self.opt_in_tag in selection.dag_tags(dag)
        return self.dags is None

    def experiment_for(self, dag_id: str) -> str:
        return self.experiment or dag_id


def parse(section: dict[str, Any]) -> Settings:
    """Settings from the section's raw values; InvalidInputError names a bad key and value."""
    values = {str(k).strip().lower(): v for k, v in section.items()}
    unknown = sorted(set(values) - KEYS)
    if unknown:
        raise InvalidInputError(
            f"[{SECTION}] {unknown[0]}", values[unknown[0]], f"is not a key; known: {sorted(KEYS)}"
        )
    enabled = _boolean("enabled", values.get("enabled", True))
    uri = _text(values.get("tracking_uri")) or None
    if uri is not None and not _URI_RE.match(uri):
        raise InvalidInputError(
            f"[{SECTION}] tracking_uri",
            uri,
            "must be a sqlite://, postgresql://, http(s):// or file:// URI",
        )
    experiment = _text(values.get("experiment")) or None
    if experiment is not None:
        try:
            validate_experiment_name(experiment)
        except InvalidInputError as exc:
            raise InvalidInputError(f"[{SECTION}] experiment", experiment, exc.reason) from None
    dags = _dag_ids("dags", values.get("dags"))
    mode = _text(values.get("mode")).lower() or "all"
    if mode not in MODES:
        raise InvalidInputError(f"[{SECTION}] mode", values.get("mode"), "must be all or opt_in")
    tag = _text(values.get("opt_in_tag")) or DEFAULT_TAG
    if not _TAG_RE.match(tag):
        raise InvalidInputError(
            f"[{SECTION}] opt_in_tag",
            tag,
            "must be one DAG tag (no commas, at most 100 characters)",
        )
    return Settings(
        enabled=enabled,
        tracking_uri=uri,
        experiment=experiment,
        dags=dags or None,
        exclude_dags=_dag_ids("exclude_dags", values.get("exclude_dags")),
        namespace=_text(values.get("namespace")),
        mode=mode,
        opt_in_tag=tag,
        version_returns=_boolean("version_returns", values.get("version_returns", False)),
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _boolean(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInputError(f"[{SECTION}] {key}", value, "must be true or false")


def _dag_ids(key: str, value: Any) -> frozenset[str]:
    names = [n.strip() for n in _text(value).split(",") if n.strip()]
    for name in names:
        if not _DAG_ID_RE.match(name):
            raise InvalidInputError(
                f"[{SECTION}] {key}", name, "must be a comma-separated list of dag_ids"
            )
    return frozenset(names)


def _raw_section() -> dict[str, Any]:
    section: dict[str, Any] = {}
    try:
        from airflow.configuration import conf

        section.update(conf.getsection(SECTION) or {})
    except Exception as exc:  # no airflow.cfg readable here: the variables still count
        log.debug("flowtrack: airflow.cfg not read: %s", exc)
    for name, value in os.environ.items():
        if name.startswith(ENV_PREFIX):
            section[name.removeprefix(ENV_PREFIX).lower()] = value
    return section


_loaded: list[Settings] = []


def load() -> Settings:
    """This process's settings, read once; a malformed section is logged once and disables."""
    if not _loaded:
        try:
            settings = parse(_raw_section())
        except InvalidInputError as exc:
            log.error("flowtrack: tracking is off: the Airflow config is malformed: %s", exc)
            settings = Settings(enabled=False)
        from_env = os.environ.get(config.ENV_EXPERIMENT)
        if not settings.experiment and from_env:
            # Read once, before any run of this process sets the variable for its children.
            settings = dataclasses.replace(settings, experiment=from_env)
        if settings.tracking_uri and not os.environ.get(config.ENV_TRACKING_URI):
            # Through the environment, so processes a task starts log to the same store.
            os.environ[config.ENV_TRACKING_URI] = settings.tracking_uri
        _loaded.append(settings)
    return _loaded[0]


def forget() -> None:
    """Read the settings again on next use (tests, and a changed environment)."""
    _loaded.clear()

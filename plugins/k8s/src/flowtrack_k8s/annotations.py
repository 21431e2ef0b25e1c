"""The ``flowtrack.dev/*`` label and annotations of a Job, parsed without ever raising.

Kubernetes selects by labels only, so the label ``flowtrack.dev/track: "true"`` picks the Jobs
to track, and annotations configure them::

    flowtrack.dev/experiment: churn
    flowtrack.dev/params: '{"alpha": 0.5}'          # a JSON object
    flowtrack.dev/inputs: s3://bucket/train/        # comma-separated, or a JSON list
    flowtrack.dev/outputs: s3://bucket/model/
    flowtrack.dev/register-model: churn             # registered from the outputs on success
    flowtrack.dev/parent-run-id: <32 hex>           # set when a tracked task launched the Job
    flowtrack.dev/run-id: <32 hex>                  # set by the webhook / `flowtrack k8s inject`

A bad value never stops anything: `parse` returns what it could read plus one `Problem` per
bad annotation, naming the annotation and its value, which the watcher records on the run as
a warning. The Job itself is never touched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PREFIX = "flowtrack.dev/"
TRACK_LABEL = PREFIX + "track"
EXPERIMENT = PREFIX + "experiment"
PARAMS = PREFIX + "params"
INPUTS = PREFIX + "inputs"
OUTPUTS = PREFIX + "outputs"
REGISTER_MODEL = PREFIX + "register-model"
PARENT_RUN_ID = PREFIX + "parent-run-id"
RUN_ID = PREFIX + "run-id"
KNOWN = frozenset(
    {TRACK_LABEL, EXPERIMENT, PARAMS, INPUTS, OUTPUTS, REGISTER_MODEL, PARENT_RUN_ID, RUN_ID}
)
# The label selector the watcher lists and watches Jobs with.
SELECTOR = f"{TRACK_LABEL}=true"

_RUN_ID_RE = re.compile(r"[0-9a-f]{32}")
_MAX_SHOWN = 200  # characters of a bad value quoted back in a warning
_MAX_URIS = 100
_MAX_PARAMS = 500


@dataclass(frozen=True, slots=True)
class Problem:
    """One annotation that could not be used: which, its value, and why."""

    annotation: str
    value: str
    reason: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= _MAX_SHOWN else self.value[:_MAX_SHOWN] + "..."
        return f"annotation {self.annotation}={shown!r}: {self.reason}"


@dataclass(slots=True)
class JobConfig:
    """What the annotations ask for; fields are empty where an annotation is absent or bad."""

    experiment: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    register_model: str | None = None
    parent_run_id: str | None = None
    run_id: str | None = None
    problems: list[Problem] = field(default_factory=list)


def is_tracked(labels: Mapping[str, str] | None) -> bool:
    return (labels or {}).get(TRACK_LABEL, "").strip().lower() == "true"


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """A JSON object as flat params: nested keys joined with '.', values as JSON text
    unless they are strings (so 0.5 stays "0.5" and "a" stays "a")."""
    if isinstance(value, Mapping) and value:
        out: dict[str, str] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    key = prefix[:-1]
    return {key: value if isinstance(value, str) else json.dumps(value, sort_keys=True)}


def _params(text: str, problems: list[Problem]) -> dict[str, str]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(PARAMS, text, f"is not valid JSON ({exc.msg} at {exc.pos})"))
        return {}
    if not isinstance(value, dict):
        problems.append(Problem(PARAMS, text, f"must be a JSON object, not {type(value).__name__}"))
        return {}
    flat = flatten(value)
    if len(flat) > _MAX_PARAMS:
        problems.append(Problem(PARAMS, text, f"has {len(flat)} params; the limit is 500"))
        return {}
    return flat


def _uris(annotation: str, text: str, problems: list[Problem]) -> list[str]:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            problems.append(Problem(annotation, text, f"is not a valid JSON list ({exc.msg})"))
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(Problem(annotation, text, "must be a JSON list of strings"))
            return []
        items = [v.strip() for v in value]
    else:
        items = [part.strip() for part in stripped.split(",")]
    uris = [u for u in items if u]
    if not uris:
        problems.append(Problem(annotation, text, "names no path or URL"))
    bad = [u for u in uris if "\x00" in u or "\n" in u]
    if bad:
        problems.append(Problem(annotation, text, "a path or URL contains a NUL or newline"))
        return []
    if len(uris) > _MAX_URIS:
        problems.append(Problem(annotation, text, f"names {len(uris)} items; the limit is 100"))
        return []
    return uris


def _run_id(annotation: str, text: str, problems: list[Problem]) -> str | None:
    value = text.strip().lower()
    if _RUN_ID_RE.fullmatch(value):
        return value
    problems.append(Problem(annotation, text, "must be a run id (32 hexadecimal characters)"))
    return None


def _name(annotation: str, text: str, problems: list[Problem]) -> str | None:
    value = text.strip()
    if not value or len(value) > 250 or "\n" in value:
        problems.append(Problem(annotation, text, "must be a name of 1 to 250 characters"))
        return None
    return value


def parse(annotations: Mapping[str, str] | None, labels: Mapping[str, str] | None) -> JobConfig:
    """The Job's configuration from its annotations (and its ``flowtrack.dev/*`` labels)."""
    config = JobConfig()
    problems = config.problems
    notes = dict(annotations or {})
    for key in sorted({*notes, *(labels or {})}):
        if key.startswith(PREFIX) and key not in KNOWN:
            value = notes.get(key, (labels or {}).get(key, ""))
            known = ", ".join(sorted(KNOWN))
            problems.append(Problem(key, value, f"is not a flowtrack annotation (known: {known})"))
    if EXPERIMENT in notes:
        config.experiment = _name(EXPERIMENT, notes[EXPERIMENT], problems)
    if PARAMS in notes:
        config.params = _params(notes[PARAMS], problems)
    if INPUTS in notes:
        config.inputs = _uris(INPUTS, notes[INPUTS], problems)
    if OUTPUTS in notes:
        config.outputs = _uris(OUTPUTS, notes[OUTPUTS], problems)
    if REGISTER_MODEL in notes:
        config.register_model = _name(REGISTER_MODEL, notes[REGISTER_MODEL], problems)
        if config.register_model and OUTPUTS not in notes:
            problems.append(
                Problem(REGISTER_MODEL, notes[REGISTER_MODEL], f"needs {OUTPUTS} to register")
            )
    if PARENT_RUN_ID in notes:
        config.parent_run_id = _run_id(PARENT_RUN_ID, notes[PARENT_RUN_ID], problems)
    if RUN_ID in notes:
        config.run_id = _run_id(RUN_ID, notes[RUN_ID], problems)
    return config

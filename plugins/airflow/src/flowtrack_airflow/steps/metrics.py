"""Log metrics (and params) from a dict, an upstream XCom or a JSON/YAML file into the task's
run, or into another run by id."""

from __future__ import annotations

import ast
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowtrack_airflow.steps import bad, failing_as, step_run

STEP = "log_metrics"  # how errors name the step; the operator gives its class name
MAX_FILE_BYTES = 16 * 2**20


def as_mapping(step: str, field: str, value: Any) -> dict[str, Any]:
    """A dict from a dict, or from its text (JSON, or the Python repr that a Jinja template
    renders a dict to; read with literal_eval, which evaluates no code)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text)
        except ValueError:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raise bad(step, field, text, "must be a dict of names to numbers") from None
    if not isinstance(value, Mapping):
        raise bad(step, field, value, "must be a dict of names to numbers")
    return dict(value)


def read_file(step: str, file: Any) -> dict[str, Any]:
    """The mapping in a JSON or YAML file (by suffix; other names are tried as both)."""
    import yaml

    if isinstance(file, os.PathLike):
        file = os.fspath(file)
    if not isinstance(file, str) or not file.strip():
        raise bad(step, "file", file, "must be the path of a JSON or YAML file")
    path = Path(file).expanduser()
    if not path.is_file():
        raise bad(step, "file", file, "does not exist or is not a file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise bad(step, "file", file, f"is larger than {MAX_FILE_BYTES} bytes; not a metrics file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(step, "file", file, f"cannot be read: {exc}") from None
    try:
        # YAML is a superset of JSON: any other name is read as YAML.
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise bad(step, "file", file, f"is not valid JSON or YAML: {first}") from None
    if not isinstance(data, Mapping):
        raise bad(
            step,
            "file",
            file,
            f"must hold a mapping of names to numbers, not {type(data).__name__}",
        )
    return dict(data)


def _flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"val": {"auc": 0.9}} -> {"val.auc": 0.9}."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _checked_metrics(step: str, merged: Mapping[str, Any]) -> dict[str, float]:
    from flowtrack.validation import validate_key, validate_metric_value

    with failing_as(step):
        return {
            validate_key("metric key", k): validate_metric_value(k, v)
            for k, v in _flat(merged).items()
        }


def _checked_params(step: str, params: Any) -> dict[str, str]:
    from flowtrack.validation import validate_key, validate_param_value

    from flowtrack_airflow.values import params_of

    if params is None:
        return {}
    found = as_mapping(step, "params", params)
    with failing_as(step):
        return {
            validate_key("param key", k): validate_param_value(k, v)
            for k, v in params_of(found).items()
        }


def log_metrics(
    metrics: Any = None,
    file: Any = None,
    params: Any = None,
    run_id: str | None = None,
    step: int | None = None,
    *,
    caller: str = STEP,
    xcom: tuple[str, Any] | None = None,
) -> dict[str, float]:
    """Log ``metrics`` (a dict, nested dicts flattened with '.'), the mapping in ``file``
    and ``xcom`` (a (description, value) pulled by the operator), merged in that order of
    precedence, and ``params``, into the active run or run ``run_id``. Returns the metrics."""
    from flowtrack.validation import validate_step

    merged: dict[str, Any] = {}
    if file is not None:
        merged.update(read_file(caller, file))
    if xcom is not None:
        where, value = xcom
        if value is None:
            raise bad(caller, "xcom_task_id", where, "has no XCom value to log")
        merged.update(as_mapping(caller, "xcom_task_id", value))
    if metrics is not None:
        merged.update(as_mapping(caller, "metrics", metrics))
    if metrics is None and file is None and xcom is None:
        raise bad(caller, "metrics", None, "nothing to log: give metrics, xcom_task_id or file")
    values = _checked_metrics(caller, merged)
    logged_params = _checked_params(caller, params)
    with failing_as(caller):
        at = 0 if step is None else validate_step("step", step)
    if run_id is not None:
        _log_to(caller, run_id, values, logged_params, at)
        return values
    import flowtrack

    with step_run(), failing_as(caller):
        if values:
            flowtrack.log_metrics(values, step=at)
        if logged_params:
            flowtrack.log_params(logged_params)
    return values


def _log_to(
    step: str, run_id: Any, values: dict[str, float], params: dict[str, str], at: int
) -> None:
    import flowtrack
    from flowtrack.entities import Metric, Param
    from flowtrack.validation import validate_run_id

    with failing_as(step):
        validate_run_id(run_id)
    client = flowtrack.Client()
    now = int(time.time() * 1000)
    with failing_as(step):
        try:
            client.get_run(run_id)
        except flowtrack.NotFoundError:
            raise bad(step, "run_id", run_id, "no such run") from None
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, at) for k, v in values.items()],
            params=[Param(k, v) for k, v in params.items()],
        )

"""``@task.flowtrack``: a TaskFlow task run as a tracked step.

Registered with Airflow as a provider task decorator (entry point ``apache_airflow_provider``,
`provider.get_provider_info`), so ``from airflow.sdk import task`` gives ``@task.flowtrack``;
``from flowtrack_airflow import flowtrack_task`` is the same decorator, for code that prefers
an import to a name looked up at run time::

    @task.flowtrack(register_model="churn", alias="candidate")
    def train(rows: int):
        return LogisticRegression().fit(X, y)      # logged as a model, registered

    @task.flowtrack(version_output=True)
    def features() -> str:
        ...
        return "/data/features.parquet"           # versioned as an output of the task's run

The function runs in the task's run (the listener's; a run of its own when the DAG is not
recorded). ``register_model``: the return value (a model object, or the ``runs:/`` URI of one
logged already) is registered as the next version of that model, with ``alias`` and
``stage``; the task's XCom is then the version (as `RegisterModelOperator`'s). With
``version_output`` the return value is versioned as an output: a path or URL by its content
(as `VersionDataOperator`), a JSON-able value or a DataFrame as a file; the XCom is the value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk.bases.decorator import DecoratedOperator, task_decorator_factory

from flowtrack_airflow.steps import bad, failing_as, step_run

STEP = "@task.flowtrack"


def _check(register_model: Any, alias: Any, stage: Any, version_output: Any) -> None:
    """Checked when the DAG is parsed: a bad option is a DAG import error, not a failed run."""
    from flowtrack.registry.validation import validate_alias, validate_model_name, validate_stage

    if not isinstance(version_output, bool):
        raise bad(STEP, "version_output", version_output, "must be True or False")
    with failing_as(STEP):
        if register_model is not None:
            validate_model_name(register_model, "register_model")
        if alias is not None:
            validate_alias(alias)
        if stage is not None:
            validate_stage(stage)
    if (alias is not None or stage is not None) and register_model is None:
        raise bad(
            STEP, "alias" if alias is not None else "stage", alias or stage, "needs register_model"
        )
    if register_model is not None and version_output:
        raise bad(
            STEP, "version_output", True, "and register_model: the model is versioned already"
        )


class _FlowtrackDecoratedOperator(DecoratedOperator, PythonOperator):
    """Runs the function as @task does, then the flowtrack step its options ask for."""

    template_fields: Sequence[str] = ("templates_dict", "op_args", "op_kwargs")
    template_fields_renderers = {"templates_dict": "json", "op_args": "py", "op_kwargs": "py"}
    custom_operator_name = STEP

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Any,
        op_kwargs: Any,
        version_output: bool = False,
        register_model: str | None = None,
        alias: str | None = None,
        stage: str | None = None,
        **kwargs: Any,
    ) -> None:
        _check(register_model, alias, stage, version_output)
        self.version_output = version_output
        self.register_model = register_model
        self.alias = alias
        self.stage = stage
        super().__init__(
            kwargs_to_upstream={
                "python_callable": python_callable,
                "op_args": op_args,
                "op_kwargs": op_kwargs,
            },
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            **kwargs,
        )

    def execute(self, context: Any) -> Any:
        ti = context.get("ti")
        self._output_name = _output_name(ti)
        with step_run():
            return super().execute(context)

    def execute_callable(self) -> Any:
        value = super().execute_callable()
        if self.register_model is not None:
            return _register(value, self.register_model, self.alias, self.stage)
        if self.version_output:
            _version(value, self._output_name)
        return value


def _output_name(ti: Any) -> str:
    from flowtrack_airflow.returns import dataset_name

    if ti is None:
        return "result"
    index = getattr(ti, "map_index", -1)
    return dataset_name(str(ti.dag_id), str(ti.task_id), index if index is not None else -1)


def _register(value: Any, name: str, alias: str | None, stage: str | None) -> dict[str, Any]:
    from flowtrack_airflow.steps.models import register_model

    if value is None:
        raise bad(STEP, "register_model", name, "the task returned None: return the model")
    if not (isinstance(value, str | os.PathLike | dict) or hasattr(value, "model_uri")):
        import flowtrack.models

        with failing_as(STEP):
            value = flowtrack.models.log_model(value, "model")
    return register_model(value, name, alias=alias, stage=stage, caller=STEP)


def _is_data_reference(value: Any) -> bool:
    if isinstance(value, PurePath):
        return True
    return isinstance(value, str) and ("://" in value or os.path.exists(value))


def _version(value: Any, name: str) -> None:
    from flowtrack_airflow.returns import job
    from flowtrack_airflow.steps.data import version_data

    if _is_data_reference(value):
        version_data(value, caller=STEP)
        return
    found = job(value, name)
    if found is None:
        raise bad(
            STEP,
            "version_output",
            type(value).__name__,
            "the return value is not a path, a URL, a JSON-able value or a DataFrame "
            "(with pyarrow installed)",
        )
    found()


def flowtrack_task(
    python_callable: Callable[..., Any] | None = None,
    multiple_outputs: bool | None = None,
    **kwargs: Any,
) -> Any:
    """``@task.flowtrack``: ``@task`` plus ``version_output``, ``register_model``, ``alias``
    and ``stage`` (see the module doc)."""
    return task_decorator_factory(
        python_callable=python_callable,
        multiple_outputs=multiple_outputs,
        decorated_operator_class=_FlowtrackDecoratedOperator,
        **kwargs,
    )

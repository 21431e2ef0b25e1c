"""`RegisterModelOperator`: register a logged model, give the version an alias and a stage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator

from flowtrack_airflow.steps.models import register_model


class RegisterModelOperator(BaseOperator):
    """Register ``model_uri`` as the next version of model ``name``.

    ``model_uri`` is ``runs:/<run_id>/<path>`` (what ``flowtrack.models.log_model`` returned
    upstream, e.g. ``"{{ ti.xcom_pull('train') }}"``), or the path of a flowtrack model
    folder, which is first stored in this task's run. ``alias`` and ``stage`` are set on the
    new version. The XCom is ``{"name", "version", "model_uri", "source", "run_id"}``.
    """

    template_fields: Sequence[str] = ("model_uri", "name", "alias", "stage", "tags")
    ui_color = "#dbeafe"

    def __init__(
        self,
        *,
        model_uri: Any,
        name: str,
        alias: str | None = None,
        stage: str | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_uri = model_uri
        self.name = name
        self.alias = alias
        self.stage = stage
        self.tags = tags
        self.description = description

    def execute(self, context: Any) -> dict[str, Any]:
        return register_model(
            self.model_uri,
            self.name,
            alias=self.alias,
            stage=self.stage,
            tags=self.tags,
            description=self.description,
            caller=type(self).__name__,
        )

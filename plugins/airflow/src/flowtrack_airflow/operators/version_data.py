"""`VersionDataOperator`: version a path or URL, and push it to a data remote."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from flowtrack_airflow.steps.data import version_data


class VersionDataOperator(BaseOperator):
    """Version ``path`` (a local file or folder, or an fsspec URL) as an output of this
    task's run (an input with ``as_output=False``).

    Local data is versioned by content (inside a flowtrack data repo as ``flowtrack data
    add``, pointer file included); remote URLs by a reference fingerprint of their metadata.
    With ``push=True`` the objects go to ``remote`` (the repo's default remote when None).
    The XCom is ``{"name", "uri", "digest", "version_id", "size", "files", "mode", "remote",
    "pushed"}``.
    """

    template_fields: Sequence[str] = ("path", "remote", "name")
    ui_color = "#dcfce7"

    def __init__(
        self,
        *,
        path: Any,
        remote: str | None = None,
        push: bool = False,
        as_output: bool = True,
        name: str | None = None,
        mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.remote = remote
        self.push = push
        self.as_output = as_output
        self.name = name
        self.mode = mode

    def execute(self, context: Any) -> dict[str, Any]:
        return version_data(
            self.path,
            remote=self.remote,
            push=self.push,
            as_output=self.as_output,
            name=self.name,
            mode=self.mode,
            caller=type(self).__name__,
        )

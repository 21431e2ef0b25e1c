"""Links both ways: the Prefect UI page of a flow run, and the flowtrack page of a run.

The flowtrack page is ``<server>/runs/<run_id>``: the server's URL for a remote store
(``http(s)://`` tracking URI), else the ``flowtrack ui`` default, http://127.0.0.1:5000.
``FLOWTRACK_UI_URL`` overrides both (e.g. a server behind a proxy).
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

log = logging.getLogger("flowtrack.prefect")

ENV_UI_URL = "FLOWTRACK_UI_URL"
DEFAULT_UI_URL = "http://127.0.0.1:5000"
ARTIFACT_KEY = "flowtrack-run"


def flowtrack_ui_url(tracking_uri: str) -> str:
    explicit = os.environ.get(ENV_UI_URL)
    if explicit:
        return explicit.rstrip("/")
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri.rstrip("/")
    return DEFAULT_UI_URL


def flowtrack_run_url(tracking_uri: str, run_id: str) -> str:
    return f"{flowtrack_ui_url(tracking_uri)}/runs/{run_id}"


def prefect_flow_run_url(flow_run_id: str) -> str | None:
    """The flow run's page in the Prefect UI, when Prefect knows its UI (PREFECT_UI_URL, or
    derived from PREFECT_API_URL); None for the temporary local server."""
    try:
        from prefect.settings import PREFECT_UI_URL

        base = PREFECT_UI_URL.value()
    except Exception:  # settings that fail to load must not stop tracking
        return None
    if not base:
        return None
    return f"{str(base).rstrip('/')}/runs/flow-run/{flow_run_id}"


def create_run_artifact(tracking_uri: str, run_id: str, flow_name: str, flow_run_id: Any) -> None:
    """A link artifact on the Prefect flow run pointing to its flowtrack run.

    The artifact is what ``prefect.artifacts.create_link_artifact`` makes (a markdown link),
    sent with the flow run's id: the flow run's context does not exist yet when its run starts.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactCreate

    url = flowtrack_run_url(tracking_uri, run_id)
    request = ArtifactCreate(
        type="markdown",
        key=ARTIFACT_KEY,
        description=f"The flowtrack run of this `{_markdown_safe(flow_name)}` flow run.",
        flow_run_id=flow_run_id,
        data=f"[flowtrack run {run_id[:8]}]({url})",
    )
    with get_client(sync_client=True) as client:
        client.create_artifact(artifact=request)


def _markdown_safe(text: str) -> str:
    return re.sub(r"[`\n]", "", text)[:200]

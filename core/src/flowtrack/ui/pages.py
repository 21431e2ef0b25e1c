"""The web UI's pages: each path answers the same HTML shell, and the shell's script draws the
page from the JSON API. No user data is ever put into the HTML here (so nothing to escape on
the server): the script reads ids from the URL and builds the page with text nodes.

The status code still tells the truth: an unknown experiment or run is a 404 page, one the
caller may not read a 403 page (the shell then shows what went wrong).

To add a page: a path in `PAGES` (its name is the script module static/js/pages/<name>.js)
and, where the path names a thing, a lookup in `_status`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse

from flowtrack.errors import FlowtrackError, InvalidInputError, NotFoundError
from flowtrack.server.api import guards
from flowtrack.server.api.access import READ, check, logged_in
from flowtrack.server.auth.errors import PermissionDenied
from flowtrack.server.state import get_state
from flowtrack.ui.lineage import named_versions

router = APIRouter(include_in_schema=False)

# path -> page name (static/js/pages/<name>.js)
PAGES: dict[str, str] = {
    "/": "experiments",
    "/experiments": "experiments",
    "/experiments/{experiment_id}": "runs",
    "/runs/{run_id}": "run",
    "/compare": "compare",
    "/models": "models",
    "/models/{model_name}": "model",
    "/data": "data",
    "/data/{dataset_name:path}": "dataset",
    "/pipelines": "pipelines",
    "/pipelines/{run_id}": "pipeline",
}


@cache
def _shell() -> str:
    return (files("flowtrack.ui") / "static" / "index.html").read_text(encoding="utf-8")


def shell(page: str, status: int = 200) -> HTMLResponse:
    # The page name is one of PAGES' values, never user input.
    html = _shell().replace("{{page}}", page)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


async def _status(request: Request) -> int:
    """404 for an unknown experiment, run, model or dataset named by the path, 403 for one the
    caller may not read, 400 for a malformed id; else 200."""
    params = request.path_params
    store = get_state(request).store
    try:
        if "experiment_id" in params:
            experiment_id = guards.experiment_id(params["experiment_id"])
            await run_in_threadpool(store.get_experiment, experiment_id)
            await check(request, READ, experiment_ids=[experiment_id])
        elif "run_id" in params:
            await run_in_threadpool(store.get_run, params["run_id"])
            await check(request, READ, run_ids=[params["run_id"]])
        elif "model_name" in params:
            await run_in_threadpool(store.get_registered_model, params["model_name"])
            await check(request, READ, model_names=[params["model_name"]])
        elif "dataset_name" in params:
            await run_in_threadpool(named_versions, store, params["dataset_name"])
    except NotFoundError:
        return 404
    except InvalidInputError:
        return 400
    except PermissionDenied:
        return 403
    except FlowtrackError:
        return 503
    return 200


def _page_route(page: str) -> Callable[[Request], Awaitable[HTMLResponse]]:
    async def route(request: Request) -> HTMLResponse:
        return shell(page, await _status(request))

    route.__name__ = f"ui_{page}"
    return route


for _path, _page in PAGES.items():
    router.add_api_route(
        _path, _page_route(_page), methods=["GET"], dependencies=logged_in(), name=f"ui:{_path}"
    )

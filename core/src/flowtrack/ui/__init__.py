"""The web UI: HTML pages, their scripts and styles (package data under static/), and a few
JSON endpoints made for them. Served by the same app as the API (`flowtrack ui` and
`flowtrack server`), so it needs no build step and no network: see docs/ui.md."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

STATIC_PREFIX = "/ui/static"


def static_dir() -> Path:
    return Path(str(files("flowtrack.ui") / "static"))


def install(app: FastAPI) -> None:
    """Mount the pages, the static files and the UI's JSON endpoints on ``app``."""
    from flowtrack.ui import api, pages

    app.include_router(api.router)
    app.include_router(pages.router)
    # Behind the same authentication middleware as everything else (a browser asks once).
    app.mount(STATIC_PREFIX, StaticFiles(directory=static_dir()), name="ui-static")

"""``flowtrack server`` (the shared tracking server) and ``flowtrack ui`` (the same app on the
embedded store, for one user on one machine)."""

from __future__ import annotations

import json
import os
from typing import Any

import click

_BACKEND_HELP = (
    "Where runs, metrics and the registry are stored: sqlite:////abs/path.db or "
    "postgresql://user@host:5432/db (default: the embedded SQLite file under FLOWTRACK_HOME)."
)
_ARTIFACTS_HELP = (
    "Where the server keeps artifacts of new experiments, served to clients through its proxy: "
    "a folder or an fsspec URL such as s3://bucket/prefix (default: FLOWTRACK_HOME/artifacts, "
    "or beside an SQLite backend)."
)


def _size(_ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    from flowtrack.errors import InvalidInputError
    from flowtrack.server.hardening import parse_size

    if value is None or value == "":
        return None
    try:
        return parse_size(value)
    except InvalidInputError as exc:
        raise click.BadParameter(exc.reason, param=param) from None


def _serve(
    backend_store_uri: str | None,
    artifacts_destination: str | None,
    host: str,
    port: int,
    workers: int,
    settings: dict[str, Any],
) -> None:
    import uvicorn

    from flowtrack.config import default_artifact_root, default_tracking_uri, normalize_uri
    from flowtrack.server import app as server_app
    from flowtrack.tracking.delivery import safe_uri

    backend = normalize_uri(backend_store_uri or default_tracking_uri())
    artifacts = artifacts_destination or default_artifact_root(backend)
    # Migrate (and fail clearly on a wrong URI) once here, before any worker starts; with
    # --auth, make the first admin here too, so a generated password is printed once.
    store = server_app.open_store(backend, artifacts)
    if settings.get("auth"):
        from flowtrack.server import auth
        from flowtrack.server.state import ServerState

        auth.enable(
            ServerState(store=store, artifacts_destination=artifacts),
            default_permission=settings.get("default_permission"),
        )
    store.close()
    settings = {
        **settings,
        "backend_store_uri": safe_uri(backend),
        "workers": workers,
        "host": host,
    }
    os.environ[server_app.ENV_BACKEND] = backend
    os.environ[server_app.ENV_ARTIFACTS] = artifacts
    os.environ[server_app.ENV_SETTINGS] = json.dumps(settings)
    click.echo(
        f"flowtrack server on http://{host}:{port} (store {safe_uri(backend)}, artifacts "
        f"{artifacts}); API documentation at /docs",
        err=True,
    )
    uvicorn.run(
        "flowtrack.server.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@click.command("server")
@click.option("--backend-store-uri", envvar="FLOWTRACK_BACKEND_STORE_URI", help=_BACKEND_HELP)
@click.option(
    "--artifacts-destination", envvar="FLOWTRACK_ARTIFACTS_DESTINATION", help=_ARTIFACTS_HELP
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes."
)
@click.option("--auth", is_flag=True, help="Require users and permissions (see docs/server.md).")
@click.option(
    "--auth-default-permission",
    envvar="FLOWTRACK_AUTH_DEFAULT_PERMISSION",
    show_envvar=True,
    type=click.Choice(["NONE", "READ", "EDIT", "MANAGE"], case_sensitive=False),
    help="With --auth: what users may do with experiments and models they neither created nor "
    "were granted  [default: READ]",
)
@click.option(
    "--allowed-hosts",
    multiple=True,
    help="Host header values to accept (DNS rebinding protection); repeat or comma-separate. "
    "Added to FLOWTRACK_ALLOWED_HOSTS.",
)
@click.option(
    "--cors-allowed-origins",
    multiple=True,
    envvar="FLOWTRACK_CORS_ALLOWED_ORIGINS",
    show_envvar=True,
    help="Browser origins (https://nb.corp) allowed to call the API cross-origin; repeat or "
    "comma-separate. None: CORS is off.",
)
@click.option(
    "--max-body-size",
    envvar="FLOWTRACK_MAX_BODY_SIZE",
    show_envvar=True,
    callback=_size,
    help="Largest artifact upload, in bytes or like 512MiB, 2GiB  [default: 1GiB]",
)
@click.option(
    "--max-json-body-size",
    envvar="FLOWTRACK_MAX_JSON_BODY_SIZE",
    show_envvar=True,
    callback=_size,
    help="Largest request body of every other call  [default: 16MiB]",
)
def server(
    backend_store_uri: str | None,
    artifacts_destination: str | None,
    host: str,
    port: int,
    workers: int,
    auth: bool,
    auth_default_permission: str | None,
    allowed_hosts: tuple[str, ...],
    cors_allowed_origins: tuple[str, ...],
    max_body_size: int | None,
    max_json_body_size: int | None,
) -> None:
    """Run the tracking server: REST API, MLflow-compatible API and artifact proxy.

    Clients use it with FLOWTRACK_TRACKING_URI=http://HOST:PORT (MLflow clients with
    MLFLOW_TRACKING_URI). Several workers, or several servers on one PostgreSQL database,
    serve together safely.
    """
    settings = {
        "auth": auth,
        "allowed_hosts": _listed(allowed_hosts),
        "cors_origins": _listed(cors_allowed_origins),
        "max_body": max_body_size,
        "max_json_body": max_json_body_size,
        "default_permission": auth_default_permission.upper() if auth_default_permission else None,
        "ui": False,
    }
    _serve(backend_store_uri, artifacts_destination, host, port, workers, settings)


def _listed(values: tuple[str, ...]) -> list[str]:
    """Repeated options, each possibly comma-separated (as the environment variables are)."""
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--backend-store-uri", envvar="FLOWTRACK_BACKEND_STORE_URI", help=_BACKEND_HELP)
def ui(host: str, port: int, backend_store_uri: str | None) -> None:
    """Open the web UI and API on the embedded store (this user's ~/.flowtrack).

    Same app as `flowtrack server`, without authentication: for one person on one machine.
    """
    from flowtrack.config import get_tracking_uri

    backend = backend_store_uri or get_tracking_uri()
    if backend.startswith(("http://", "https://")):
        raise click.UsageError(
            f"the tracking URI {backend} is a server already: open it in a browser instead"
        )
    settings = {"auth": False, "allowed_hosts": [], "ui": True}
    _serve(backend, None, host, port, 1, settings)

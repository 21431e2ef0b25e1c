"""``flowtrack k8s webhook`` and ``flowtrack k8s inject``: the run context for Jobs' containers.

Kept apart from the group in `flowtrack_k8s.cli` so that each command family is one module;
`add_webhook_commands` attaches them to the group.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TextIO

import click
from flowtrack import config

from flowtrack_k8s import webhook as wh
from flowtrack_k8s.patch import Target, parse_token_secret

_URI_HELP = (
    "Store the containers log to, as they reach it from inside the cluster (default: "
    "FLOWTRACK_TRACKING_URI)."
)


_CREDENTIAL_HELP = (
    "Secret NAME[/KEY] in the Job's namespace holding a flowtrack server token: containers get "
    "FLOWTRACK_TRACKING_TOKEN from it (optional: a missing Secret does not stop the pod)."
)


def _target(uri: str | None, token_secret: str | None) -> Target:
    uri = uri or os.environ.get(config.ENV_TRACKING_URI)
    if not uri:
        raise click.UsageError(
            "--tracking-uri is required (or FLOWTRACK_TRACKING_URI): the store the Jobs' "
            "containers log to"
        )
    if token_secret:
        try:
            parse_token_secret(token_secret)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--token-secret") from exc
    return Target(uri, token_secret)


@click.command()
# In a pod the Service reaches the webhook on the pod IP: all interfaces by default.
@click.option(
    "--host",
    default="0.0.0.0",  # noqa: S104
    show_default=True,
    help="Address to listen on.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8443, show_default=True)
@click.option(
    "--cert",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="TLS certificate (PEM) for the Service's DNS name.",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False),
    required=True,
    help="Its private key (PEM).",
)
@click.option("--tracking-uri", help=_URI_HELP)
@click.option("--token-secret", help=_CREDENTIAL_HELP)
@click.option(
    "--max-body",
    type=click.IntRange(min=1024),
    default=wh.DEFAULT_MAX_BODY,
    show_default=True,
    help="Largest request body accepted, in bytes.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=wh.DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds a connection may stay silent.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=wh.DEFAULT_MAX_CONNECTIONS,
    show_default=True,
    help="Connections served at once; more are closed (the API server then admits unchanged).",
)
def webhook(
    host: str,
    port: int,
    cert: str,
    key: str,
    tracking_uri: str | None,
    token_secret: str | None,
    max_body: int,
    timeout: float,
    max_connections: int,
) -> None:
    """Serve the mutating admission webhook (HTTPS: POST /mutate, GET /healthz).

    Tracked Jobs (label flowtrack.dev/track: "true") get FLOWTRACK_TRACKING_URI,
    FLOWTRACK_RUN_ID, FLOWTRACK_EXPERIMENT and FLOWTRACK_PARENT_RUN_ID in every container
    that does not set them itself. Any error admits the Job unchanged. See docs/k8s-webhook.md.
    """
    target = _target(tracking_uri, token_secret)
    logging.getLogger("flowtrack.k8s").setLevel(logging.INFO)
    try:
        server = wh.WebhookServer(
            (host, port), cert, key, target, max_body, timeout, max_connections=max_connections
        )
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise click.ClickException(f"cannot serve on {host}:{port} with {cert}: {exc}") from exc
    click.echo(f"flowtrack webhook on {server.url} (POST /mutate, GET /healthz)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@click.command()
@click.argument("manifest", type=click.File("r", encoding="utf-8"))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write here instead of stdout.",
)
@click.option("--tracking-uri", help=_URI_HELP)
@click.option("--token-secret", help=_CREDENTIAL_HELP)
def inject(
    manifest: TextIO,
    output: str | None,
    tracking_uri: str | None,
    token_secret: str | None,
) -> None:
    """Add the run context to the tracked Jobs of MANIFEST ('-' for stdin), for kubectl.

    \b
        flowtrack k8s inject job.yaml | kubectl apply -f -

    Tracked Jobs get a flowtrack.dev/run-id annotation (kept if already there) and the
    FLOWTRACK_* variables the webhook would add; CronJobs' jobTemplates get all but the run
    id. Other documents pass through. What was done is said on stderr.
    """
    import yaml

    from flowtrack_k8s.inject import inject_text

    target = _target(tracking_uri, token_secret)
    name = getattr(manifest, "name", "-")
    try:
        text, result = inject_text(manifest.read(), target)
    except yaml.YAMLError as exc:
        raise click.ClickException(f"{name} is not valid YAML: {exc}; nothing written") from exc
    if output:
        _write_atomic(Path(output), text)
    else:
        sys.stdout.write(text)
    for kind, where, run_id, notes in result.touched:
        click.echo(f"{kind} {where}: " + (f"run {run_id}" if run_id else "injected"), err=True)
        for note in notes:
            click.echo(f"  {note}", err=True)
    if not result.touched:
        click.echo(f'no tracked Job in {name} (label flowtrack.dev/track: "true")', err=True)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_webhook_commands(group: click.Group) -> None:
    """Attach ``webhook`` and ``inject`` to the ``flowtrack k8s`` group."""
    group.add_command(webhook)
    group.add_command(inject)

"""``flowtrack k8s``: the Kubernetes adapter's commands (registered through its plugin)."""

from __future__ import annotations

import logging
import signal
from typing import Any

import click

from flowtrack_k8s.cli_webhook import add_webhook_commands


@click.group()
def k8s() -> None:
    """Kubernetes adapter: record labelled Jobs as runs, inject the run context into them."""


@k8s.command()
@click.option("--namespace", "-n", help="Watch Jobs in this namespace.")
@click.option("--all-namespaces", "-A", is_flag=True, help="Watch Jobs in every namespace.")
@click.option("--tracking-uri", envvar="FLOWTRACK_TRACKING_URI", help="Where runs are recorded.")
@click.option("--kubeconfig", envvar="KUBECONFIG", help="Outside a cluster: the kubeconfig file.")
@click.option("--server", "host", help="API server address, no credentials (tests, kubectl proxy).")
@click.option(
    "--lease-namespace",
    default=None,
    help="Namespace of the leader-election Lease [default: the watched namespace, else 'default'].",
)
@click.option("--lease-name", default="flowtrack-k8s-watch", show_default=True)
@click.option(
    "--identity", default=None, help="This replica's name in the Lease [default: host-pid]."
)
@click.option(
    "--lease-duration",
    type=click.IntRange(min=2),
    default=15,
    show_default=True,
    help="Seconds a Lease not renewed stays held.",
)
@click.option(
    "--no-leader-election", is_flag=True, help="Record without a Lease (one replica only)."
)
@click.option(
    "--log-max-bytes",
    type=click.IntRange(min=0),
    default=256 * 1024,
    show_default=True,
    help="Bytes kept from the end of each container's log.",
)
def watch(
    namespace: str | None,
    all_namespaces: bool,
    tracking_uri: str | None,
    kubeconfig: str | None,
    host: str | None,
    lease_namespace: str | None,
    lease_name: str,
    identity: str | None,
    lease_duration: int,
    no_leader_election: bool,
    log_max_bytes: int,
) -> None:
    """Record every Job labelled flowtrack.dev/track=true as a run, until stopped.

    Lists then watches the Jobs, their pods and Warning events; reconnects by itself when the
    API server goes away; records nothing twice after a restart. Run two replicas for high
    availability: a coordination.k8s.io Lease lets only one record at a time.
    """
    from flowtrack_k8s.watcher import Settings, Watcher

    if (namespace is None) == (not all_namespaces):
        raise click.UsageError("give exactly one of --namespace NS or --all-namespaces")
    if tracking_uri:
        from flowtrack.config import set_tracking_uri

        set_tracking_uri(tracking_uri)
    # `flowtrack` configures logging at WARNING; the watcher also says when it leads.
    logging.getLogger("flowtrack.k8s").setLevel(logging.INFO)
    settings = Settings(
        namespace=namespace,
        host=host,
        kubeconfig=kubeconfig,
        lease_namespace=lease_namespace or namespace or "default",
        lease_name=lease_name,
        identity=identity,
        lease_duration_s=lease_duration,
        renew_s=max(1.0, lease_duration / 3),
        leader_election=not no_leader_election,
        log_max_bytes=log_max_bytes,
    )
    stopping: list[bool] = []

    def stop(*_: Any) -> None:
        stopping.append(True)
        if watcher is not None:
            watcher.stop()

    watcher: Watcher | None = None
    signal.signal(signal.SIGTERM, stop)  # first: a stop while starting up is a clean stop too
    signal.signal(signal.SIGINT, stop)
    try:
        watcher = Watcher(settings)
    except Exception as exc:  # no kubeconfig, no service account, a bad file
        raise click.ClickException(
            f"could not configure the Kubernetes client: {exc}; run inside a cluster, or give "
            "--kubeconfig (or KUBECONFIG)"
        ) from exc
    if stopping:
        return
    watcher.run()


add_webhook_commands(k8s)

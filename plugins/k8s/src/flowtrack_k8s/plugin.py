"""flowtrack plugin of the Kubernetes adapter.

It tags runs started inside a Kubernetes pod with the pod's name and namespace, and adds
``flowtrack k8s`` (``watch``: the Job watcher; see docs/k8s.md).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import flowtrack
from flowtrack.plugins.records import CommandSpec

NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@flowtrack.hookimpl
def flowtrack_run_context() -> dict[str, str]:
    if not os.environ.get("KUBERNETES_SERVICE_HOST"):
        return {}
    tags = {"k8s.pod": os.environ.get("HOSTNAME", "")}
    with contextlib.suppress(OSError):
        tags["k8s.namespace"] = NAMESPACE_FILE.read_text().strip()
    return {k: v for k, v in tags.items() if v}


@flowtrack.hookimpl
def flowtrack_register_commands() -> list[CommandSpec]:
    from flowtrack_k8s.cli import k8s  # click only: the kubernetes client loads when it runs

    return [CommandSpec(k8s)]

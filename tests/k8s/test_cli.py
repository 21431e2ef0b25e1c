"""`flowtrack k8s watch` is a plugin command of the `flowtrack` CLI; bad usage says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner


def test_watch_is_registered_and_needs_one_scope() -> None:
    from flowtrack.cli.main import cli

    shown = CliRunner().invoke(cli, ["k8s", "watch", "--help"])
    assert shown.exit_code == 0, shown.output
    assert "--all-namespaces" in shown.output and "--tracking-uri" in shown.output
    both = CliRunner().invoke(cli, ["k8s", "watch", "-n", "ml", "--all-namespaces"])
    assert both.exit_code == 2
    assert "exactly one of --namespace NS or --all-namespaces" in both.output


def test_no_cluster_configuration_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowtrack.cli.main import cli

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    missing = tmp_path / "no-kubeconfig"
    done = CliRunner().invoke(cli, ["k8s", "watch", "-n", "ml", "--kubeconfig", str(missing)])
    assert done.exit_code == 1
    assert "could not configure the Kubernetes client" in done.output
    assert "--kubeconfig" in done.output

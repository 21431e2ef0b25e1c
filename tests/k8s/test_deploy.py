"""The manifests in plugins/k8s/deploy: parsed, checked for the promises the docs make, and
given to the kubernetes client's models when the client is installed."""

from __future__ import annotations

import json
import re
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import yaml
from flowtrack_k8s import patch

from tests.conftest import missing

DEPLOY = Path(__file__).resolve().parents[2] / "plugins" / "k8s" / "deploy"


def load() -> list[dict[str, Any]]:
    objects = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        objects += [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    return objects


OBJECTS = load()


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [o for o in OBJECTS if o["kind"] == kind]


def named(kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in by_kind(kind) if o["metadata"]["name"] == name]
    return found


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    files = {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)


def test_every_object_has_the_kinds_it_needs() -> None:
    kinds = sorted(o["kind"] for o in OBJECTS)
    assert kinds == sorted(
        [
            "Namespace",
            "ServiceAccount",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "Deployment",
            "Deployment",
            "Service",
            "MutatingWebhookConfiguration",
        ]
    )
    namespaced = [
        o
        for o in OBJECTS
        if o["kind"]
        not in {"Namespace", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration"}
    ]
    assert {o["metadata"]["namespace"] for o in namespaced} == {"flowtrack"}


def test_webhook_configuration_never_blocks_and_selects_by_the_label() -> None:
    (config,) = by_kind("MutatingWebhookConfiguration")
    resources = []
    for hook in config["webhooks"]:
        assert hook["failurePolicy"] == "Ignore"
        assert hook["sideEffects"] == "None"
        assert hook["admissionReviewVersions"] == ["v1"]
        assert 1 <= hook["timeoutSeconds"] <= 10
        assert hook["reinvocationPolicy"] == "Never"  # a second pass would see its own patch
        assert hook["objectSelector"] == {"matchLabels": {patch.TRACK_LABEL: "true"}}
        (rule,) = hook["rules"]
        assert rule["operations"] == ["CREATE"] and rule["apiVersions"] == ["v1"]
        resources.append((rule["apiGroups"], rule["resources"]))
        service = hook["clientConfig"]["service"]
        assert service["path"] == "/mutate"
        svc = named("Service", service["name"])
        assert svc["metadata"]["namespace"] == service["namespace"]
        (port,) = svc["spec"]["ports"]
        assert port["port"] == service["port"]
        excluded = hook["namespaceSelector"]["matchExpressions"][0]["values"]
        assert "kube-system" in excluded and service["namespace"] in excluded
    assert resources == [(["batch"], ["jobs"]), ([""], ["pods"])]


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_rbac_is_least_privilege() -> None:
    for role in by_kind("ClusterRole") + by_kind("Role"):
        for rule in role["rules"]:
            for field in ("verbs", "resources", "apiGroups"):
                assert "*" not in rule[field], (role["metadata"]["name"], field)
    (cluster_role,) = by_kind("ClusterRole")
    granted = {
        (group, resource): set(rule["verbs"])
        for rule in cluster_role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    read = {"get", "list", "watch"}
    assert granted == {
        ("batch", "jobs"): read,
        ("", "pods"): read,
        ("", "events"): read,
        ("", "pods/log"): {"get"},
    }
    (role,) = by_kind("Role")
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "create", "update"],
        }
    ]
    assert role["metadata"]["namespace"] == "flowtrack"
    accounts = {
        (a["metadata"]["namespace"], a["metadata"]["name"]) for a in by_kind("ServiceAccount")
    }
    for binding in by_kind("ClusterRoleBinding") + by_kind("RoleBinding"):
        ref = binding["roleRef"]
        named(ref["kind"], ref["name"])
        for subject in binding["subjects"]:
            assert (subject["namespace"], subject["name"]) in accounts
    assert named("ServiceAccount", "flowtrack-webhook")["automountServiceAccountToken"] is False


def test_deployments_run_the_commands_with_options_that_exist() -> None:
    from flowtrack_k8s.cli_webhook import webhook

    hook = named("Deployment", "flowtrack-webhook")["spec"]["template"]["spec"]
    (container,) = hook["containers"]
    args = container["args"]
    assert args[:3] == ["flowtrack", "k8s", "webhook"]
    declared = {o for p in webhook.params for o in p.opts}
    assert {a for a in args if a.startswith("--")} <= declared
    port = int(args[args.index("--port") + 1])
    assert container["ports"][0]["containerPort"] == port
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["scheme"] == "HTTPS"
        assert container[probe]["httpGet"]["path"] == "/healthz"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    for option in ("--cert", "--key"):
        assert str(Path(args[args.index(option) + 1]).parent) in mounts
    svc = named("Service", "flowtrack-webhook")
    assert svc["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
    assert (
        svc["spec"]["selector"]
        == named("Deployment", "flowtrack-webhook")["spec"]["template"]["metadata"]["labels"]
    )

    watcher = named("Deployment", "flowtrack-watcher")["spec"]["template"]["spec"]
    assert watcher["serviceAccountName"] == "flowtrack-watcher"
    assert watcher["containers"][0]["args"][:3] == ["flowtrack", "k8s", "watch"]
    for spec in (hook, watcher):
        assert spec["securityContext"]["runAsNonRoot"] is True
        for c in spec["containers"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["readOnlyRootFilesystem"] is True


def _pairs(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [(k, v) for k, v in value.items()] + [p for v in value.values() for p in _pairs(v)]
    if isinstance(value, list):
        return [p for v in value for p in _pairs(v)]
    return []


def test_the_watcher_deployment_uses_options_the_watch_command_has() -> None:
    from flowtrack_k8s.cli import k8s

    watch = k8s.commands.get("watch")
    assert watch is not None, "flowtrack k8s has no watch command"
    (container,) = named("Deployment", "flowtrack-watcher")["spec"]["template"]["spec"][
        "containers"
    ]
    args = container["args"]
    declared = {o for p in watch.params for o in p.opts}
    assert {a for a in args if a.startswith("-")} <= declared
    # The Lease lives where the Role lets the watcher write Leases.
    assert (
        args[args.index("--lease-namespace") + 1]
        == named("Role", "flowtrack-watcher-lease")["metadata"]["namespace"]
    )


def test_no_secret_is_written_into_a_manifest() -> None:
    assert not by_kind("Secret")
    for obj in OBJECTS:
        for key, value in _pairs(obj):
            if re.search(r"(?i)password|token", key):
                assert not isinstance(value, str), (obj["metadata"]["name"], key)
            if key == "env":
                for entry in value:  # the store URI may hold a password: always from a Secret
                    if entry["name"] == "FLOWTRACK_TRACKING_URI":
                        assert "secretKeyRef" in entry["valueFrom"]
    # caBundle is added at install time: never a stale one from the repository.
    (config,) = by_kind("MutatingWebhookConfiguration")
    assert all("caBundle" not in hook["clientConfig"] for hook in config["webhooks"])


def as_model(kubernetes: Any, obj: dict[str, Any]) -> Any:
    """The object deserialised by the kubernetes client as it does an API server's answer
    (V1Job, V1Deployment, ...: the version of apiVersion, capitalised, and the kind)."""
    version = obj["apiVersion"].rpartition("/")[2]
    model = f"{version.capitalize()}{obj['kind']}"
    client = kubernetes.client.ApiClient()
    return client.deserialize(json.dumps(obj), model, "application/json")


def test_the_kubernetes_client_accepts_every_manifest() -> None:
    import kubernetes  # flowtrack-k8s depends on it

    for obj in OBJECTS:
        model = as_model(kubernetes, obj)
        assert model.metadata.name == obj["metadata"]["name"], obj["kind"]
    hooks = as_model(kubernetes, by_kind("MutatingWebhookConfiguration")[0]).webhooks
    assert [(h.failure_policy, h.side_effects) for h in hooks] == [("Ignore", "None")] * 2


def test_the_docs_openssl_recipe_makes_a_certificate_the_api_server_would_accept(
    tmp_path: Path,
) -> None:
    """The commands of docs/k8s-webhook.md (less kubectl), run as written; the webhook serves
    the result, and a client verifying against ca.crt for the Service's name (as the API
    server does with caBundle) gets its answer."""
    if shutil.which("openssl") is None:
        missing("openssl is not installed (the docs' recipe runs it)")
    from flowtrack_k8s.patch import Target
    from flowtrack_k8s.webhook import WebhookServer

    doc = (DEPLOY.parents[2] / "docs" / "k8s-webhook.md").read_text()
    section = doc.split("### The webhook's certificate", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    script = "\n".join(
        line for line in block.replace("\\\n", "").splitlines() if "kubectl" not in line
    )
    assert script.count("openssl") == 3
    done = subprocess.run(  # noqa: PLW1510 - the return code is asserted
        ["bash", "-euc", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    srv = WebhookServer(
        ("127.0.0.1", 0), str(tmp_path / "tls.crt"), str(tmp_path / "tls.key"), Target("x")
    )
    srv.start()
    try:
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
        host, port = srv.server_address[:2]
        with socket.create_connection((str(host), port), timeout=10) as raw:
            name = "flowtrack-webhook.flowtrack.svc"  # what clientConfig.service resolves to
            with context.wrap_socket(raw, server_hostname=name) as tls:
                tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert tls.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        srv.shutdown()
        srv.server_close()

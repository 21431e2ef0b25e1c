"""Helpers of the webhook and inject tests: a TLS certificate, AdmissionReviews, Jobs, runs."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import ssl
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for localhost/127.0.0.1 signed by it, as the docs make
    them with openssl; returns (ca.crt, tls.crt, tls.key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flowtrack-webhook-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.crt", directory / "tls.crt", directory / "tls.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def client_context(ca: Path) -> ssl.SSLContext:
    """What the API server does: verify the webhook's certificate against the caBundle."""
    return ssl.create_default_context(cafile=str(ca))


def post(url: str, body: bytes, ca: Path, timeout: float = 10) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url + "/mutate", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, context=client_context(ca), timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def job(
    name: str = "train-churn",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    containers: list[dict[str, Any]] | None = None,
    init_containers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Job as the API server hands it to a webhook on CREATE (no uid yet)."""
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": containers or [{"name": "main", "image": "python:3.11"}],
    }
    if init_containers is not None:
        pod_spec["initContainers"] = init_containers
    metadata: dict[str, Any] = {"name": name, "namespace": "ml"}
    metadata["labels"] = {"flowtrack.dev/track": "true"} if labels is None else labels
    if annotations is not None:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {"backoffLimit": 2, "template": {"spec": pod_spec}},
    }


def review(obj: dict[str, Any], operation: str = "CREATE") -> dict[str, Any]:
    """An AdmissionReview v1 request as the API server sends it for a Job (or a Pod)."""
    if obj.get("kind") == "Pod":
        gvk = {"group": "", "version": "v1", "kind": "Pod"}
        gvr = {"group": "", "version": "v1", "resource": "pods"}
    else:
        gvk = {"group": "batch", "version": "v1", "kind": "Job"}
        gvr = {"group": "batch", "version": "v1", "resource": "jobs"}
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": gvk,
            "resource": gvr,
            "requestKind": gvk,
            "requestResource": gvr,
            "name": obj["metadata"].get("name", ""),
            "namespace": obj["metadata"].get("namespace", "ml"),
            "operation": operation,
            "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
            "object": obj,
            "oldObject": None,
            "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        },
    }


def decoded_patch(answer: dict[str, Any]) -> list[dict[str, Any]]:
    response = answer["response"]
    assert response.get("patchType") == "JSONPatch"
    ops: list[dict[str, Any]] = json.loads(base64.b64decode(response["patch"]))
    return ops


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container.get("env") or []}


def pod_of(job: dict[str, Any], index: int) -> dict[str, Any]:
    """The pod the Job controller creates for one completion index of a stored Indexed Job:
    its template, plus the controller's labels, annotation and owner reference."""
    template = job["spec"]["template"]
    metadata = template.get("metadata") or {}
    uid = job["metadata"]["uid"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{job['metadata']['name']}-{index}-",
            "namespace": job["metadata"]["namespace"],
            "labels": {
                **(metadata.get("labels") or {}),
                "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": job["metadata"]["name"],
                "batch.kubernetes.io/job-completion-index": str(index),
            },
            "annotations": {
                **(metadata.get("annotations") or {}),
                "batch.kubernetes.io/job-completion-index": str(index),
            },
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": job["metadata"]["name"],
                    "uid": uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": json.loads(json.dumps(template["spec"])),
    }


def create_run_as_watcher(
    uri: str, run_id: str, experiment: str, parent_run_id: str | None = None
) -> None:
    """Create the Job's run with its id, as the watcher does when it sees the Job (the
    watcher is another module; this is the one store call it makes for a new Job)."""
    from flowtrack.tracking.stores import get_store

    rejected = get_store(uri).apply_events(
        [
            {
                "op": "create_run",
                "run_id": run_id,
                "experiment_id": None,
                "experiment_name": experiment,
                "run_name": "train-churn",
                "parent_run_id": parent_run_id,
                "start_time": 1,
                "user_id": "k8s",
                "source_type": "k8s",
                "source_ref": {"namespace": "ml", "name": "train-churn"},
                "tags": {},
            }
        ]
    )
    assert not rejected, rejected

"""The mutating webhook over real HTTPS, answering AdmissionReview v1 as the API server sends it.

No API server can run on these machines, so the tests play its part on the wire: a TLS client
that verifies the webhook's certificate against the CA (the caBundle), POSTs the AdmissionReview
JSON the API server sends for a Job CREATE, and applies the returned JSONPatch with the
`jsonpatch` library (RFC 6902), as the API server does before storing the Job.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flowtrack
import jsonpatch
import pytest
from flowtrack_k8s import identity, patch
from flowtrack_k8s.patch import Target
from flowtrack_k8s.webhook import WebhookServer

from tests.k8s.webhook_helpers import (
    client_context,
    create_run_as_watcher,
    decoded_patch,
    env_of,
    job,
    make_tls,
    pod_of,
    post,
    review,
)

URI = "http://flowtrack.flowtrack.svc:5000"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server(tls: tuple[Path, Path, Path]) -> Iterator[WebhookServer]:
    _, cert, key = tls
    srv = WebhookServer(
        ("127.0.0.1", 0), str(cert), str(key), Target(URI), max_body=64 * 1024, timeout_s=2
    )
    srv.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def admit(
    server: WebhookServer, ca: Path, obj: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send the Job through the webhook; returns (response, the Job as it would be stored)."""
    body = review(obj)
    status, answer = post(server.url, json.dumps(body).encode(), ca)
    assert status == 200
    response = answer["response"]
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    assert response["uid"] == body["request"]["uid"] and response["allowed"] is True
    if "patch" not in response:
        return response, obj
    return response, jsonpatch.apply_patch(obj, decoded_patch(answer))


def test_tracked_job_gets_the_run_context_in_every_container(server, tls) -> None:
    obj = job(
        annotations={"flowtrack.dev/experiment": "churn", "flowtrack.dev/parent-run-id": "a" * 32},
        containers=[
            {"name": "main", "image": "python:3.11"},
            {"name": "side", "image": "x", "env": []},
        ],
        init_containers=[
            {"name": "fetch", "image": "busybox", "env": [{"name": "A", "value": "1"}]}
        ],
    )
    response, stored = admit(server, tls[0], obj)
    run_id = stored["metadata"]["annotations"][patch.RUN_ID_ANNOTATION]
    assert patch.is_run_id(run_id)
    expected = {
        "FLOWTRACK_TRACKING_URI": URI,
        "FLOWTRACK_RUN_ID": run_id,
        "FLOWTRACK_EXPERIMENT": "churn",
        "FLOWTRACK_PARENT_RUN_ID": "a" * 32,
    }
    pod = stored["spec"]["template"]["spec"]
    assert env_of(pod["containers"][0]) == expected
    assert env_of(pod["containers"][1]) == expected
    assert env_of(pod["initContainers"][0]) == {"A": "1", **expected}
    assert "warnings" not in response
    # The annotations the user wrote are all still there.
    assert stored["metadata"]["annotations"]["flowtrack.dev/experiment"] == "churn"


def test_user_values_are_kept_and_nothing_is_duplicated(server, tls) -> None:
    mine = [
        {"name": "FLOWTRACK_EXPERIMENT", "value": "mine"},
        {
            "name": "FLOWTRACK_TRACKING_URI",
            "valueFrom": {"secretKeyRef": {"name": "s", "key": "u"}},
        },
        {"name": "OTHER", "value": "x"},
    ]
    obj = job(
        annotations={"flowtrack.dev/experiment": "churn"},
        containers=[{"name": "m", "image": "i", "env": mine}],
    )
    _, stored = admit(server, tls[0], obj)
    env = stored["spec"]["template"]["spec"]["containers"][0]["env"]
    names = [e["name"] for e in env]
    assert len(names) == len(set(names)), names
    assert env[:3] == mine  # untouched, in place
    assert {e["name"] for e in env[3:]} == {"FLOWTRACK_RUN_ID"}
    # Admitting the stored Job again (a reinvocation) changes nothing.
    response, again = admit(server, tls[0], stored)
    assert "patch" not in response and again == stored


def test_a_valid_run_id_annotation_is_kept(server, tls) -> None:
    chosen = "b" * 32
    _, stored = admit(server, tls[0], job(annotations={patch.RUN_ID_ANNOTATION: chosen}))
    assert stored["metadata"]["annotations"][patch.RUN_ID_ANNOTATION] == chosen
    assert env_of(stored["spec"]["template"]["spec"]["containers"][0])["FLOWTRACK_RUN_ID"] == chosen


def test_the_watcher_computes_the_run_id_the_containers_got(server, tls) -> None:
    """The contract: the stored Job (now with a uid) is, for the watcher, the containers' run."""
    _, stored = admit(server, tls[0], job())
    stored["metadata"]["uid"] = "6c1f0e0a-7e8b-4f57-9a0e-2d3c4b5a6978"  # given when stored
    annotated = stored["metadata"]["annotations"][patch.RUN_ID_ANNOTATION]
    env = env_of(stored["spec"]["template"]["spec"]["containers"][0])
    assert identity.job_run_id(stored["metadata"]["uid"], annotated) == env["FLOWTRACK_RUN_ID"]
    # A Job the webhook never saw is the run of its uid, the same on every computation.
    uid = stored["metadata"]["uid"]
    assert identity.job_run_id(uid) == identity.job_run_id(uid) != annotated
    assert patch.is_run_id(identity.job_run_id(uid))


def test_a_job_of_a_cronjob_gets_its_own_run_not_the_templates(server, tls) -> None:
    inherited = "c" * 32
    obj = job(annotations={patch.RUN_ID_ANNOTATION: inherited})
    obj["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "name": "nightly",
            "uid": "u-1",
            "controller": True,
        }
    ]
    parent = identity.cronjob_run_id("u-1")  # the run the watcher groups its Jobs under
    _, first = admit(server, tls[0], obj)
    _, second = admit(server, tls[0], obj)
    ids = {d["metadata"]["annotations"][patch.RUN_ID_ANNOTATION] for d in (first, second)}
    assert inherited not in ids and len(ids) == 2
    for stored in (first, second):
        annotated = stored["metadata"]["annotations"][patch.RUN_ID_ANNOTATION]
        env = env_of(stored["spec"]["template"]["spec"]["containers"][0])
        assert env["FLOWTRACK_RUN_ID"] == annotated
        assert env["FLOWTRACK_PARENT_RUN_ID"] == parent
        # Once injected, admitting it again keeps its id.
        response, _ = admit(server, tls[0], stored)
        assert "patch" not in response


def indexed_job(**kwargs: Any) -> dict[str, Any]:
    obj = job(**kwargs)
    obj["spec"] |= {"completionMode": "Indexed", "completions": 3, "parallelism": 3}
    return obj


def test_pods_of_an_indexed_job_log_into_their_index_run(server, tls, tmp_path) -> None:
    mine = {"name": "mine", "image": "i", "env": [{"name": "FLOWTRACK_RUN_ID", "value": "d" * 32}]}
    obj = indexed_job(
        annotations={"flowtrack.dev/experiment": "churn", patch.PARENT_ANNOTATION: "a" * 32},
        containers=[{"name": "main", "image": "python:3.11"}, mine],
    )
    _, stored = admit(server, tls[0], obj)
    job_run = stored["metadata"]["annotations"][patch.RUN_ID_ANNOTATION]
    template = stored["spec"]["template"]
    assert template["metadata"] == {
        "labels": {patch.TRACK_LABEL: "true"},
        "annotations": {patch.RUN_ID_ANNOTATION: job_run},
    }
    assert env_of(template["spec"]["containers"][0])["FLOWTRACK_RUN_ID"] == job_run
    stored["metadata"]["uid"] = "0f7c7d1e-2f0a-4b8e-9c3d-5e6f7a8b9c0d"
    pod = pod_of(stored, 2)
    _, admitted = admit(server, tls[0], pod)
    child = identity.index_run_id(job_run, 2)
    main, own = (env_of(c) for c in admitted["spec"]["containers"])
    assert main == {
        "FLOWTRACK_TRACKING_URI": URI,
        "FLOWTRACK_RUN_ID": child,
        "FLOWTRACK_EXPERIMENT": "churn",
        "FLOWTRACK_PARENT_RUN_ID": job_run,
    }
    assert own["FLOWTRACK_RUN_ID"] == "d" * 32  # the user's own value stays
    again, _ = admit(server, tls[0], admitted)
    assert "patch" not in again
    # A process with the pod's environment logs into the index's run (made by the watcher).
    uri = f"sqlite:///{tmp_path / 'flowtrack.db'}"
    create_run_as_watcher(uri, job_run, "churn")
    create_run_as_watcher(uri, child, "churn", parent_run_id=job_run)
    run_container(main | {"FLOWTRACK_TRACKING_URI": uri}, tmp_path)
    import flowtrack

    run = flowtrack.Client(uri).get_run(child)
    assert run.data.metrics["loss"] == 0.25 and run.info.parent_run_id == job_run


def test_an_indexed_job_template_with_metadata_keeps_it(server, tls) -> None:
    obj = indexed_job()
    obj["spec"]["template"]["metadata"] = {"labels": {"app": "train"}, "annotations": None}
    _, stored = admit(server, tls[0], obj)
    job_run = stored["metadata"]["annotations"][patch.RUN_ID_ANNOTATION]
    assert stored["spec"]["template"]["metadata"] == {
        "labels": {"app": "train", patch.TRACK_LABEL: "true"},
        "annotations": {patch.RUN_ID_ANNOTATION: job_run},
    }


def test_other_labelled_pods_are_admitted_without_a_patch(server, tls) -> None:
    stored = job()
    stored["metadata"]["uid"] = "1a2b"
    stored["spec"]["template"]["metadata"] = {"labels": {patch.TRACK_LABEL: "true"}}
    pod = pod_of(stored, 0)
    del pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
    response, admitted = admit(server, tls[0], pod)  # no run id, no index: not ours
    assert "patch" not in response and admitted == pod


def test_bad_annotations_are_warned_about_and_left_out(server, tls, caplog) -> None:
    caplog.set_level(logging.WARNING, "flowtrack.k8s")
    obj = job(annotations={patch.RUN_ID_ANNOTATION: "nope", patch.PARENT_ANNOTATION: "zz"})
    response, stored = admit(server, tls[0], obj)
    run_id = stored["metadata"]["annotations"][patch.RUN_ID_ANNOTATION]
    assert patch.is_run_id(run_id)
    env = env_of(stored["spec"]["template"]["spec"]["containers"][0])
    assert env["FLOWTRACK_RUN_ID"] == run_id and "FLOWTRACK_PARENT_RUN_ID" not in env
    assert any("flowtrack.dev/parent-run-id='zz'" in w for w in response["warnings"])
    assert any("flowtrack.dev/run-id='nope'" in w for w in response["warnings"])
    assert all(len(w) <= 120 for w in response["warnings"])
    assert "flowtrack.dev/parent-run-id='zz'" in caplog.text


@pytest.mark.parametrize(
    "labels", [{}, {"flowtrack.dev/track": "false"}, {"app": "x"}], ids=["none", "false", "other"]
)
def test_unlabelled_job_is_admitted_without_a_patch(server, tls, labels) -> None:
    obj = job(labels=labels)
    response, stored = admit(server, tls[0], obj)
    assert "patch" not in response and "patchType" not in response and stored == obj


def test_job_without_annotations_or_env_gets_whole_lists(server, tls) -> None:
    obj = job(containers=[{"name": "m", "image": "i", "env": None}])
    assert "annotations" not in obj["metadata"]
    _, stored = admit(server, tls[0], obj)
    env = env_of(stored["spec"]["template"]["spec"]["containers"][0])
    assert set(env) == {"FLOWTRACK_TRACKING_URI", "FLOWTRACK_RUN_ID"}  # no experiment given
    assert env["FLOWTRACK_RUN_ID"] == stored["metadata"]["annotations"][patch.RUN_ID_ANNOTATION]


@pytest.mark.parametrize(
    "body,uid",
    [
        (b"{not json", ""),
        (b'{"kind": "AdmissionReview"}', ""),
        (
            json.dumps(
                {"request": {"uid": "u-7", "kind": {"group": "apps", "kind": "Deployment"}}}
            ).encode(),
            "u-7",
        ),
        (
            json.dumps(
                {
                    "request": {
                        "uid": "u-8",
                        "kind": {"group": "batch", "kind": "Job"},
                        "operation": "CREATE",
                        "object": [1],
                    }
                }
            ).encode(),
            "u-8",
        ),
        (
            json.dumps(
                review(job())
                | {
                    "request": review(job())["request"]
                    | {
                        "uid": "u-9",
                        "object": {
                            "metadata": {"labels": {"flowtrack.dev/track": "true"}},
                            "spec": 5,
                        },
                    }
                }
            ).encode(),
            "u-9",
        ),
    ],
    ids=["not-json", "no-request", "deployment", "object-not-dict", "spec-not-dict"],
)
def test_malformed_request_is_admitted_and_logged(server, tls, caplog, body, uid) -> None:
    caplog.set_level(logging.WARNING, "flowtrack.k8s")
    status, answer = post(server.url, body, tls[0])
    assert status == 200
    assert answer["response"] == {"uid": uid, "allowed": True} or (
        answer["response"]["allowed"] is True and "patch" not in answer["response"]
    )
    assert "flowtrack webhook" in caplog.text


def test_oversized_body_is_refused_unread_and_the_server_goes_on(server, tls, caplog) -> None:
    caplog.set_level(logging.ERROR, "flowtrack.k8s")
    host, port = server.server_address[:2]
    conn = http.client.HTTPSConnection(str(host), port, context=client_context(tls[0]), timeout=5)
    # Only the headers: the answer must come without the body being read.
    conn.putrequest("POST", "/mutate")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(server.max_body + 1))
    conn.endheaders()
    answer = conn.getresponse()
    assert answer.status == 413 and answer.getheader("Connection") == "close"
    conn.close()
    assert f"Content-Length {server.max_body + 1} (limit {server.max_body})" in caplog.text
    # A whole oversized review: refused (413, or the connection closed under the client).
    huge = json.dumps(review(job(annotations={"filler": "x" * server.max_body}))).encode()
    try:
        status, _ = post(server.url, huge, tls[0])
        assert status == 413
    except urllib.error.URLError as exc:
        assert isinstance(exc.reason, (ssl.SSLError, ConnectionError)), exc
    response, _ = admit(server, tls[0], job())
    assert "patch" in response


def test_healthz_and_unknown_paths(server, tls) -> None:
    with urllib.request.urlopen(
        server.url + "/healthz", context=client_context(tls[0]), timeout=5
    ) as r:
        assert r.status == 200 and r.read() == b"ok\n"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server.url + "/other", context=client_context(tls[0]), timeout=5)
    assert err.value.code == 404


def test_a_silent_client_does_not_hold_up_others(server, tls) -> None:
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), port)):  # connects, never starts TLS
        started = time.monotonic()
        with urllib.request.urlopen(
            server.url + "/healthz", context=client_context(tls[0]), timeout=5
        ) as r:
            assert r.status == 200
        # Not a timing assertion on the work: served while the silent one was still open
        # (the server's timeout for it is 2 s; the handshake does not run in the accept loop).
        assert time.monotonic() - started < 2


def test_a_renewed_certificate_is_served_without_a_restart(tmp_path, caplog) -> None:
    caplog.set_level(logging.WARNING, "flowtrack.k8s")
    for folder in ("a", "b", "live"):
        (tmp_path / folder).mkdir()
    first, second = make_tls(tmp_path / "a"), make_tls(tmp_path / "b")
    live = tmp_path / "live"
    cert, key = live / "tls.crt", live / "tls.key"
    shutil.copy(first[1], cert)
    shutil.copy(first[2], key)
    srv = WebhookServer(("127.0.0.1", 0), str(cert), str(key), Target(URI), reload_s=0)
    srv.start()
    try:
        assert post(srv.url, json.dumps(review(job())).encode(), first[0])[0] == 200
        cert.write_text("half written")  # a renewal caught midway: the old pair stays
        assert post(srv.url, json.dumps(review(job())).encode(), first[0])[0] == 200
        assert "keeping the current certificate" in caplog.text
        shutil.copy(second[2], key)
        shutil.copy(second[1], cert)
        assert post(srv.url, json.dumps(review(job())).encode(), second[0])[0] == 200
        with pytest.raises(urllib.error.URLError) as err:
            post(srv.url, json.dumps(review(job())).encode(), first[0])
        assert isinstance(err.value.reason, ssl.SSLCertVerificationError)
        assert "reloaded" in caplog.text
    finally:
        srv.shutdown()
        srv.server_close()


def test_connections_over_the_limit_are_closed_and_slots_come_back(tls, caplog) -> None:
    caplog.set_level(logging.ERROR, "flowtrack.k8s")
    srv = WebhookServer(
        ("127.0.0.1", 0), str(tls[1]), str(tls[2]), Target(URI), timeout_s=5, max_connections=1
    )
    srv.start()
    host, port = srv.server_address[:2]
    try:
        with socket.create_connection((str(host), port)):  # holds the only slot, silent
            deadline = time.monotonic() + 5
            while "connections open" not in caplog.text:
                with pytest.raises(OSError):
                    post(srv.url, json.dumps(review(job())).encode(), tls[0], timeout=2)
                assert time.monotonic() < deadline
        assert "1 connections open, closing the one from" in caplog.text
        deadline = time.monotonic() + 10  # the slot is free once the silent one is gone
        while True:
            try:
                status, answer = post(srv.url, json.dumps(review(job())).encode(), tls[0])
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert status == 200 and "patch" in answer["response"]
    finally:
        srv.shutdown()
        srv.server_close()


def test_plain_http_is_not_served(server, caplog) -> None:
    caplog.set_level(logging.WARNING, "flowtrack.k8s")
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(server.url.replace("https", "http") + "/healthz", timeout=5)
    deadline = time.monotonic() + 5
    while "failed: SSLError" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)  # the handshake fails in the connection's thread
    assert "flowtrack webhook: connection from" in caplog.text
    assert "Traceback" not in caplog.text


def test_code_in_an_admitted_container_logs_into_the_jobs_run(server, tls, tmp_path) -> None:
    """The stored Job's container env, given to a process: its log_metric lands in the run."""
    uri = f"sqlite:///{tmp_path / 'store' / 'flowtrack.db'}"
    (tmp_path / "store").mkdir()
    srv = WebhookServer(("127.0.0.1", 0), str(tls[1]), str(tls[2]), Target(uri))
    srv.start()
    try:
        _, stored = admit(srv, tls[0], job(annotations={"flowtrack.dev/experiment": "churn"}))
    finally:
        srv.shutdown()
        srv.server_close()
    env = env_of(stored["spec"]["template"]["spec"]["containers"][0])
    create_run_as_watcher(uri, env["FLOWTRACK_RUN_ID"], "churn")
    run_container(env, tmp_path)
    import flowtrack

    run = flowtrack.Client(uri).get_run(env["FLOWTRACK_RUN_ID"])
    assert run.data.metrics["loss"] == 0.25
    assert flowtrack.Client(uri).get_experiment(run.info.experiment_id).name == "churn"


def run_container(env: dict[str, str], tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTRACK_")}
    clean |= env | {"FLOWTRACK_HOME": str(tmp_path / "container-home")}
    code = "import flowtrack; flowtrack.log_metric('loss', 0.25); flowtrack.flush()"
    done = subprocess.run(  # noqa: PLW1510 - the return code is asserted
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_a_token_secret_becomes_an_optional_secret_reference(tls) -> None:
    srv = WebhookServer(("127.0.0.1", 0), str(tls[1]), str(tls[2]), Target(URI, "flowtrack-token"))
    srv.start()
    try:
        _, stored = admit(srv, tls[0], job())
    finally:
        srv.shutdown()
        srv.server_close()
    (entry,) = [
        e
        for e in stored["spec"]["template"]["spec"]["containers"][0]["env"]
        if e["name"] == "FLOWTRACK_TRACKING_TOKEN"
    ]
    assert entry == {
        "name": "FLOWTRACK_TRACKING_TOKEN",
        "valueFrom": {
            "secretKeyRef": {"name": "flowtrack-token", "key": "token", "optional": True}
        },
    }


def webhook_args(tls: tuple[Path, Path, Path], *more: str) -> list[str]:
    return ["k8s", "webhook", "--cert", str(tls[1]), "--key", str(tls[2]), *more]


def test_the_cli_serves_the_webhook(tls, tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    flowtrack_cli = Path(sys.executable).parent / "flowtrack"
    args = [str(flowtrack_cli), *webhook_args(tls, "--tracking-uri", URI)]
    args += ["--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    try:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    url + "/healthz", context=client_context(tls[0]), timeout=2
                ):
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "the webhook did not come up in 60 s"
                time.sleep(0.3)
        status, answer = post(url, json.dumps(review(job())).encode(), tls[0])
        assert status == 200 and "patch" in answer["response"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_cli_needs_a_tracking_uri_and_a_usable_certificate(tls, tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner
    from flowtrack_k8s.cli import k8s

    monkeypatch.delenv("FLOWTRACK_TRACKING_URI", raising=False)
    result = CliRunner().invoke(k8s, webhook_args(tls)[1:])
    assert result.exit_code == 2 and "--tracking-uri is required" in result.output
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    result = CliRunner().invoke(
        k8s,
        ["webhook", "--cert", str(bad), "--key", str(tls[2]), "--tracking-uri", URI, "--port", "1"],
    )
    assert result.exit_code == 1 and "cannot serve" in result.output and str(bad) in result.output
    args = webhook_args(tls, "--tracking-uri", URI, "--token-secret", "Bad_Name")
    result = CliRunner().invoke(k8s, args[1:])
    assert result.exit_code == 2 and "'Bad_Name'" in result.output


def test_indexed_job_through_the_webhook_the_watcher_and_a_pod(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The webhook admits an Indexed Job, the stand-in API server (the watcher branch's; no
    real one can run here) stores it, the watcher records it and its index runs, and a process
    with the environment the webhook gives the pod of index 1 logs into that index's run."""
    from flowtrack import config
    from flowtrack_k8s.indexed import pod_injection
    from flowtrack_k8s.webhook import mutate

    from tests.k8s.test_inject import _stand_in

    cluster, namespace, start_watcher = _stand_in(request)
    from tests.k8s.helpers import ended_run, eventually, k8s_runs, run_of

    target = Target(config.get_tracking_uri())
    obj = indexed_job(annotations={"flowtrack.dev/experiment": "churn"})
    answer = mutate(review(obj), target)
    admitted = jsonpatch.apply_patch(obj, decoded_patch(answer))
    annotations = admitted["metadata"]["annotations"]
    start_watcher()
    job = cluster.create_job(
        "shards", namespace, annotations=annotations, completions=2, indexed=True
    )
    job_run = annotations[patch.RUN_ID_ANNOTATION]
    assert eventually(lambda: run_of(job, "churn")).info.run_id == job_run
    # The pod as the Job controller makes it from the admitted template, then admitted.
    admitted["metadata"] |= {"uid": job["metadata"]["uid"], "namespace": namespace}
    pod = pod_of(admitted, 1)
    stored_pod = jsonpatch.apply_patch(pod, pod_injection(pod).ops)
    started = cluster.start_pod(job, index=1)
    child = identity.index_run_id(job_run, 1)
    eventually(lambda: [r for r in k8s_runs("churn") if r.info.run_id == child], what="index run")
    env = env_of(stored_pod["spec"]["containers"][0])
    assert env["FLOWTRACK_RUN_ID"] == child and env["FLOWTRACK_PARENT_RUN_ID"] == job_run
    run_container(env, tmp_path)
    cluster.end_pod(started, 0)
    cluster.end_pod(cluster.start_pod(job, index=0), 0)
    cluster.finish_job(job)
    assert ended_run(job, "churn").info.run_id == job_run
    index_run = flowtrack.Client().get_run(child)
    assert index_run.data.metrics["loss"] == 0.25 and index_run.info.parent_run_id == job_run

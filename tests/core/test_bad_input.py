"""Bad input: a clear error naming the field and the value, nothing written, the task unharmed.

Module-level calls log the error (and raise with FLOWTRACK_STRICT=1); the Client raises.
"""

from __future__ import annotations

import logging
from pathlib import Path

import flowtrack
import pytest
from flowtrack.errors import ConflictError, InvalidInputError, NotFoundError


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda: flowtrack.log_metric("bad key!", 1.0), "invalid metric key 'bad key!'"),
        (lambda: flowtrack.log_metric("ok", "high"), "invalid value of metric 'ok' 'high'"),
        (lambda: flowtrack.log_metric("ok", True), "invalid value of metric 'ok' True"),
        (lambda: flowtrack.log_metric("ok", 1.0, step=1.5), "invalid step of metric 'ok' 1.5"),
        (lambda: flowtrack.log_metric("../up", 1.0), "invalid metric key '../up'"),
        (lambda: flowtrack.log_metric("loss\n", 1.0), "invalid metric key 'loss\\n'"),
        (lambda: flowtrack.log_metric("ok", 10**400), "is too large for a 64-bit float"),
        (lambda: flowtrack.log_param("k" * 251, 1), "is 251 characters long; the limit is 250"),
        (lambda: flowtrack.log_param("p", "x" * 6001), "the limit is 6000"),
        (lambda: flowtrack.set_tag("t", "x" * 8001), "the limit is 8000"),
        (
            lambda: flowtrack.log_text("x", "../../etc/passwd"),
            "invalid artifact_file '../../etc/passwd'",
        ),
        (lambda: flowtrack.log_text("x", "/etc/passwd"), "must be relative"),
        (lambda: flowtrack.log_text("x", "%2e%2e/escape.txt"), "must not contain '..'"),
        (lambda: flowtrack.log_text("x", "%252e%252e/escape.txt"), "must not contain '..'"),
        (lambda: flowtrack.log_text("x", "a\\..\\..\\b"), "must use '/' separators"),
    ],
)
def test_invalid_input_is_reported_and_changes_nothing(
    call: object, needle: str, caplog: pytest.LogCaptureFixture
) -> None:
    with flowtrack.start_run() as run, caplog.at_level(logging.ERROR, logger="flowtrack"):
        call()  # type: ignore[operator]
    assert needle in caplog.text
    stored = flowtrack.Client().get_run(run.info.run_id)
    assert stored.data.metrics == {} and stored.data.params == {}
    assert not any(not k.startswith("flowtrack.") for k in stored.data.tags)
    assert flowtrack.Client().list_artifacts(run.info.run_id) == []
    assert stored.info.status == "FINISHED"  # the task went on


def test_strict_mode_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWTRACK_STRICT", "1")
    with (
        flowtrack.start_run(),
        pytest.raises(InvalidInputError, match="invalid metric key 'bad key!'"),
    ):
        flowtrack.log_metric("bad key!", 1.0)


def test_second_param_value_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    with flowtrack.start_run() as run, caplog.at_level(logging.ERROR, logger="flowtrack"):
        flowtrack.log_param("alpha", 0.5)
        flowtrack.log_param("alpha", 0.7)
        flowtrack.log_params({"beta": 1, "alpha": 0.9})  # all or nothing
    assert "param 'alpha' of run" in caplog.text and "already has value '0.5'" in caplog.text
    assert flowtrack.Client().get_run(run.info.run_id).data.params == {"alpha": "0.5"}


def test_second_param_value_from_another_process_is_refused_by_the_store() -> None:
    client = flowtrack.Client()
    with flowtrack.start_run() as run:
        flowtrack.log_param("alpha", 0.5)
        with pytest.raises(ConflictError, match=r"already has value '0\.5'"):
            client.log_param(run.info.run_id, "alpha", 0.7)
    assert client.get_run(run.info.run_id).data.params == {"alpha": "0.5"}


def test_client_refuses_logging_to_finished_deleted_and_unknown_runs() -> None:
    client = flowtrack.Client()
    with flowtrack.start_run() as run:
        pass
    with pytest.raises(ConflictError, match="the run is FINISHED; resume it"):
        client.log_metric(run.info.run_id, "m", 1.0)
    client.delete_run(run.info.run_id)
    with pytest.raises(ConflictError, match="the run is deleted"):
        client.set_tag(run.info.run_id, "t", "v")
    with pytest.raises(ConflictError, match="the run does not exist"):
        client.log_metric("0" * 32, "m", 1.0)
    with pytest.raises(NotFoundError, match=r"run '0{32}' does not exist"):
        client.get_run("0" * 32)
    with pytest.raises(InvalidInputError, match="invalid metric key"):
        client.log_metric(run.info.run_id, "bad key!", 1.0)


def test_resuming_an_unknown_run_starts_a_new_one(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="flowtrack"),
        flowtrack.start_run(run_id="f" * 32) as run,
    ):
        flowtrack.log_metric("m", 1.0)
    assert "run 'ffffffffffffffffffffffffffffffff' does not exist" in caplog.text
    assert run.info.run_id != "f" * 32
    assert flowtrack.Client().get_run(run.info.run_id).data.metrics == {"m": 1.0}


def test_refused_events_from_the_writer_are_kept(
    ft_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A run deleted while a task still logs to it: the task goes on, the events are set aside."""
    with flowtrack.start_run() as run:
        flowtrack.flush()
        flowtrack.Client().delete_run(run.info.run_id)
        with caplog.at_level(logging.ERROR, logger="flowtrack"):
            flowtrack.log_metric("late", 1.0)
            flowtrack.flush()
    assert "the run is deleted" in caplog.text
    rejected = list((ft_home / "spool").glob("*/rejected.jsonl"))
    assert len(rejected) == 1 and '"key": "late"' in rejected[0].read_text()


def test_nested_start_without_nested_flag_becomes_child(caplog: pytest.LogCaptureFixture) -> None:
    with flowtrack.start_run() as parent, caplog.at_level(logging.ERROR, logger="flowtrack"):
        with flowtrack.start_run() as child:
            pass
    assert "is already active; call start_run(nested=True)" in caplog.text
    assert flowtrack.Client().get_run(child.info.run_id).info.parent_run_id == parent.info.run_id


def test_experiment_names_and_ids_are_checked() -> None:
    client = flowtrack.Client()
    with pytest.raises(InvalidInputError, match="invalid experiment name '  '"):
        client.create_experiment("  ")
    client.create_experiment("twice")
    with pytest.raises(ConflictError, match="experiment 'twice' already exists"):
        client.create_experiment("twice")
    other = client.create_experiment("other")
    with pytest.raises(ConflictError, match="experiment name 'twice' is taken by another"):
        client.rename_experiment(other, "twice")
    assert client.get_experiment(other).name == "other"  # unchanged
    with pytest.raises(InvalidInputError, match="invalid experiment_id 'abc'"):
        client.get_experiment("abc")
    with pytest.raises(NotFoundError, match="experiment '999' does not exist"):
        client.get_experiment("999")
    with pytest.raises(InvalidInputError, match="the Default experiment cannot be deleted"):
        client.delete_experiment("0")

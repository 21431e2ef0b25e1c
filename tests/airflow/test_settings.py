"""The [flowtrack] section: what it selects, and errors that name the key and the value."""

from __future__ import annotations

import os

import pytest
from flowtrack.errors import InvalidInputError
from flowtrack_airflow import identity, settings


def test_defaults_track_every_dag_in_an_experiment_named_after_it() -> None:
    found = settings.parse({})
    assert found.tracks("any_dag") and found.experiment_for("any_dag") == "any_dag"


def test_allow_and_deny_lists() -> None:
    found = settings.parse({"dags": "a, b", "exclude_dags": "b", "experiment": "pipelines"})
    assert [found.tracks(d) for d in ("a", "b", "c")] == [True, False, False]
    assert found.experiment_for("a") == "pipelines"
    assert not settings.parse({"enabled": "false"}).tracks("a")


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ({"enabled": "maybe"}, "[flowtrack] enabled", "maybe"),
        ({"tracking_uri": "mysql://x"}, "[flowtrack] tracking_uri", "mysql://x"),
        ({"dags": "ok, not ok"}, "[flowtrack] dags", "not ok"),
        ({"experiment": "e" * 501}, "[flowtrack] experiment", "e" * 501),
        ({"trackng_uri": "sqlite:///x"}, "[flowtrack] trackng_uri", "sqlite:///x"),
    ],
)
def test_bad_values_name_the_key_and_the_value(
    section: dict[str, str], field: str, value: str | None
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        settings.parse(section)
    assert caught.value.field == field and caught.value.value == value


def test_environment_variables_are_read_and_the_uri_handed_to_child_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW__FLOWTRACK__TRACKING_URI", "sqlite:////tmp/ft-airflow-x.db")
    monkeypatch.setenv("AIRFLOW__FLOWTRACK__NAMESPACE", "prod")
    monkeypatch.delenv("FLOWTRACK_TRACKING_URI", raising=False)
    found = settings.load()
    assert found.namespace == "prod"
    assert os.environ["FLOWTRACK_TRACKING_URI"] == "sqlite:////tmp/ft-airflow-x.db"
    # Set by load(), not by monkeypatch: monkeypatch.delenv here would record this value and
    # put it back at the end of the test, for every later test's processes to inherit.
    del os.environ["FLOWTRACK_TRACKING_URI"]


def test_run_ids_are_stable_and_kept_apart_by_namespace() -> None:
    one = identity.task_key("", "d", "r", "t", -1)
    assert one == identity.task_key("", "d", "r", "t", -1) and len(one) == 32
    assert one != identity.task_key("prod", "d", "r", "t", -1)
    assert one != identity.task_key("", "d", "r", "t", 0)
    assert identity.dag_run_key("", "d", "r") not in (one, identity.dag_run_key("", "d", "r2"))

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


def _dag(tags: list[str] | None = None, params: dict[str, object] | None = None) -> object:
    from types import SimpleNamespace

    return SimpleNamespace(tags=set(tags or []), params=params or {})


def test_opt_in_by_tag_or_param_and_the_precedence() -> None:
    opt_in = settings.parse({"mode": "opt_in", "exclude_dags": "banned", "dags": "listed"})
    assert opt_in.tracks("a", _dag(tags=["flowtrack"]))
    assert opt_in.tracks("a", _dag(params={"flowtrack": True}))
    assert opt_in.tracks("listed", _dag())
    assert not opt_in.tracks("a", _dag(tags=["other"]))
    assert not opt_in.tracks("a", None)  # no DAG object at hand: not opted in
    # exclude_dags wins over everything; the param's False over the tag and the list.
    assert not opt_in.tracks("banned", _dag(tags=["flowtrack"], params={"flowtrack": True}))
    assert not opt_in.tracks("listed", _dag(tags=["flowtrack"], params={"flowtrack": False}))
    # In the default mode every DAG is recorded unless its param says False.
    everything = settings.parse({})
    assert everything.tracks("a", _dag()) and not everything.tracks(
        "a", _dag(params={"flowtrack": False})
    )
    assert settings.parse({"mode": "opt_in", "opt_in_tag": "ml"}).tracks("a", _dag(tags=["ml"]))


def test_the_return_value_switch() -> None:
    from flowtrack_airflow.selection import versions_returns

    tagged = _dag(tags=["flowtrack_version_returns"])
    assert versions_returns({}, tagged, default=False)
    assert not versions_returns({"flowtrack_version_returns": False}, tagged, default=True)
    assert versions_returns({"flowtrack_version_returns": "true"}, _dag(), default=False)
    assert not versions_returns({}, _dag(), default=False)
    assert versions_returns({}, _dag(), default=True)
    assert settings.parse({"version_returns": "yes"}).version_returns


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ({"mode": "some"}, "[flowtrack] mode", "some"),
        ({"opt_in_tag": "a,b"}, "[flowtrack] opt_in_tag", "a,b"),
        ({"version_returns": "often"}, "[flowtrack] version_returns", "often"),
    ],
)
def test_bad_opt_in_values_name_the_key(section: dict[str, str], field: str, value: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        settings.parse(section)
    assert caught.value.field == field and caught.value.value == value

"""The plugin system: notifications, registrations, isolation of broken plugins, narrowing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import flowtrack
import flowtrack.testing
import pytest
from click.testing import CliRunner
from flowtrack.entities import Metric, Run
from flowtrack.plugins import DEFAULT_PLUGINS, make_plugin_manager
from flowtrack.plugins.docs import hook_names, render
from flowtrack.plugins.records import CommandSpec

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    """A throwaway plugin that records what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    @flowtrack.hookimpl
    def flowtrack_run_started(self, run: Run) -> None:
        self.events.append(("started", run.info.run_name))

    @flowtrack.hookimpl
    def flowtrack_metrics_logged(self, run_id: str, metrics: Sequence[Metric]) -> None:
        self.events.append(("metrics", len(metrics)))

    @flowtrack.hookimpl
    def flowtrack_params_logged(self, params: Sequence[Any]) -> None:  # a subset of the args
        self.events.append(("params", sorted(p.key for p in params)))

    @flowtrack.hookimpl
    def flowtrack_run_finished(self, run_id: str, status: str) -> None:
        self.events.append(("finished", status))

    @flowtrack.hookimpl
    def flowtrack_artifacts_logged(self, paths: Sequence[str]) -> None:
        self.events.append(("artifacts", list(paths)))

    @flowtrack.hookimpl
    def flowtrack_run_context(self) -> dict[str, str]:
        return {"recorder.seen": "yes"}


class Broken:
    @flowtrack.hookimpl
    def flowtrack_metrics_logged(self, run_id: str) -> None:
        raise RuntimeError("plugin bug")

    @flowtrack.hookimpl
    def flowtrack_run_context(self) -> dict[str, str]:
        raise RuntimeError("context bug")


def test_notifications_reach_a_plugin_in_batches() -> None:
    recorder = Recorder()
    with flowtrack.testing.registered(recorder, "recorder"):
        with flowtrack.start_run(run_name="watched") as run:
            flowtrack.log_params({"b": 1, "a": 2})
            for step in range(100):
                flowtrack.log_metric("m", 1.0, step=step)
            flowtrack.log_text("x", "x.txt")
        assert flowtrack.flush()
    kinds = [e[0] for e in recorder.events]
    assert recorder.events[0] == ("started", "watched")
    assert ("params", ["a", "b"]) in recorder.events
    assert ("artifacts", ["x.txt"]) in recorder.events
    assert sum(n for kind, n in recorder.events if kind == "metrics") == 100
    assert kinds.count("metrics") < 100  # batched, not one call per point
    assert recorder.events[-1] == ("finished", "FINISHED")
    assert flowtrack.Client().get_run(run.info.run_id).data.tags["recorder.seen"] == "yes"


def test_a_raising_plugin_is_logged_and_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    with (
        flowtrack.testing.registered(Broken(), "broken"),
        flowtrack.testing.registered(recorder, "recorder"),
        caplog.at_level(logging.ERROR, logger="flowtrack.plugins"),
    ):
        with flowtrack.start_run() as run:
            flowtrack.log_metric("m", 1.0)
        assert flowtrack.flush()
    assert "flowtrack plugin 'broken' raised in flowtrack_metrics_logged" in caplog.text
    assert "flowtrack plugin 'broken' raised in flowtrack_run_context" in caplog.text
    assert ("metrics", 1) in recorder.events
    stored = flowtrack.Client().get_run(run.info.run_id)
    assert stored.data.metrics == {"m": 1.0} and stored.data.tags["recorder.seen"] == "yes"


def test_a_plugin_that_fails_to_load_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    # The stub adapters' entry points are installed; make one of them unimportable.
    import importlib.metadata as md

    bad = md.EntryPoint(name="exploding", value="no_such_module_xyz", group="flowtrack")
    original = md.entry_points

    def fake(**kwargs: Any) -> Any:
        found = list(original(**kwargs))
        return [*found, bad] if kwargs.get("group") == "flowtrack" else found

    import flowtrack.plugins as plugins

    with caplog.at_level(logging.WARNING, logger="flowtrack.plugins"):
        plugins.entry_points = fake
        try:
            pm = make_plugin_manager(None)
        finally:
            plugins.entry_points = original
    assert "flowtrack plugin 'exploding' failed to load and was skipped" in caplog.text
    assert pm.get_plugin("sql_store") is not None
    assert pm.get_plugin("airflow") is not None  # the installed adapter still loads


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            None,
            {
                "sql_store",
                "rest_store",
                "fsspec_artifacts",
                "git_context",
                "host_context",
                "serializers",
                "airflow",
                "k8s",
            },
        ),
        ("none", {"sql_store", "rest_store", "fsspec_artifacts", "flavors"}),
        (
            "git_context,airflow",
            {"sql_store", "rest_store", "fsspec_artifacts", "git_context", "airflow"},
        ),
        (
            "-git_context,-k8s",
            {
                "sql_store",
                "rest_store",
                "fsspec_artifacts",
                "host_context",
                "serializers",
                "airflow",
            },
        ),
    ],
)
def test_flowtrack_plugins_narrows_what_is_loaded(spec: str | None, expected: set[str]) -> None:
    pm = make_plugin_manager(spec)
    names = {pm.get_name(p) for p in pm.get_plugins()}
    assert expected <= names
    if spec == "none":
        assert names == expected
    if spec and spec.startswith("-"):
        assert "git_context" not in names and "k8s" not in names


def test_plugins_add_cli_commands() -> None:
    @click.command("hello")
    def hello() -> None:
        """Say hello."""
        click.echo("hello from a plugin")

    class Commands:
        @flowtrack.hookimpl
        def flowtrack_register_commands(self) -> list[CommandSpec]:
            return [CommandSpec(hello)]

    from flowtrack.cli.main import cli

    with flowtrack.testing.registered(Commands()):
        runner = CliRunner()
        assert "Say hello." in runner.invoke(cli, ["--help"]).output
        assert runner.invoke(cli, ["hello"]).output == "hello from a plugin\n"


def test_builtins_are_plugins() -> None:
    pm = make_plugin_manager("none", entry_points_too=False)
    assert {pm.get_name(p) for p in pm.get_plugins()} == {
        "sql_store",
        "rest_store",
        "fsspec_artifacts",
        "flavors",
    }
    assert set(DEFAULT_PLUGINS) == {
        "sql_store",
        "rest_store",
        "fsspec_artifacts",
        "git_context",
        "host_context",
        "serializers",
        "flavors",
    }


def test_every_hook_is_documented() -> None:
    page = (ROOT / "docs" / "plugins.md").read_text()
    assert page == render(), (
        "docs/plugins.md is stale: python -m flowtrack.plugins.docs > docs/plugins.md"
    )
    for name in hook_names():
        assert f"### `{name}`" in page
        assert getattr(flowtrack.hookspecs, name).__doc__.strip()


def test_a_plugin_names_the_run_of_code_with_no_active_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowtrack.tracking.context import RunState

    with flowtrack.start_run(run_name="outer") as outer:
        pass
    with flowtrack.start_run(run_name="the plugin's") as known:
        pass
    client = flowtrack.Client()
    client.update_run(known.info.run_id, "RUNNING")  # the plugin's run is still going

    class Ambient:
        @flowtrack.hookimpl
        def flowtrack_current_run(self) -> RunState:
            return RunState(
                run_id=known.info.run_id,
                uri=flowtrack.get_tracking_uri(),
                experiment_id=None,
                experiment_name=None,
                run_name="",
                parent_run_id=None,
                start_time=0,
                artifact_uri=None,
                owned=False,
            )

    # It wins over FLOWTRACK_RUN_ID: start_run attaches to it (as to an inherited run) or
    # nests under it, and a run started in the code wins over it.
    monkeypatch.setenv("FLOWTRACK_RUN_ID", outer.info.run_id)
    with flowtrack.testing.registered(Ambient()):
        flowtrack.log_metric("ambient", 1.0)
        with flowtrack.start_run() as attached:
            assert attached.info.run_id == known.info.run_id
        with flowtrack.start_run(run_name="own", nested=True) as own:
            flowtrack.log_metric("own", 2.0)
        assert flowtrack.flush()
    assert client.get_run(known.info.run_id).data.metrics == {"ambient": 1.0}
    assert client.get_run(known.info.run_id).info.status == "RUNNING"  # not ours to end
    child = client.get_run(own.info.run_id)
    assert child.data.metrics == {"own": 2.0}
    assert child.info.parent_run_id == known.info.run_id
    assert client.get_run(outer.info.run_id).data.metrics == {}


def test_flowtrack_sync_asks_plugins_first() -> None:
    calls: list[bool] = []

    class Spooler:
        @flowtrack.hookimpl
        def flowtrack_sync(self, dry_run: bool) -> list[str]:
            calls.append(dry_run)
            return ["spooler: 2 files waiting"]

    from flowtrack.cli.main import cli

    with flowtrack.testing.registered(Spooler()):
        result = CliRunner().invoke(cli, ["sync", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "spooler: 2 files waiting"
    assert calls == [True]

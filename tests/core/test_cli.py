"""The CLI as a user runs it: a real `flowtrack` process, piped output, --help everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import flowtrack
import pytest
from flowtrack.cli.main import BUILTIN_COMMANDS, cli

EXE = str(Path(sys.executable).parent / "flowtrack")


def ft(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [EXE, *args], capture_output=True, text=True, timeout=120, check=False, env=os.environ
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            out += _all_commands(command, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


def test_help_on_every_command() -> None:
    from click.testing import CliRunner

    runner = CliRunner()
    commands = _all_commands(cli)
    assert ("runs", "show") in commands and ("experiments", "list") in commands
    for path in commands:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage: " in result.output
    assert set(BUILTIN_COMMANDS) <= {p[0] for p in commands if p}


def test_demo_then_list_and_show(ft_home: Path) -> None:
    demo = ft("demo")
    assert "Logged run" in demo.stdout
    run_id = demo.stdout.split("Logged run ")[1].split()[0]

    listed = ft("runs", "list", "-e", "flowtrack-demo").stdout
    assert "baseline" in listed and "fold-3" in listed and "FINISHED" in listed

    experiments = ft("experiments", "list").stdout
    assert "flowtrack-demo" in experiments

    shown = ft("runs", "show", run_id).stdout
    for expected in (
        "Run baseline",
        "status:",
        "FINISHED",
        "alpha: 0.5",
        "loss:",
        "team: risk",
        "report.html",
        "config/params.yaml",
        "fold-1",
        "fold-2",
        "fold-3",
        "source:",
        "python",
        "train: ",
        "scores: ",
        "snapshot",
    ):
        assert expected in shown, expected

    data = json.loads(ft("runs", "show", run_id, "--json").stdout)
    assert data["params"]["alpha"] == "0.5"
    assert len(data["children"]) == 3
    artifacts = {a["path"] for a in data["artifacts"]}
    assert {"report.html", "config/params.yaml", "model/flowtrack-model.yaml"} <= artifacts
    assert sorted(i["name"] for i in data["inputs"]) == ["test", "train"]
    assert [o["name"] for o in data["outputs"]] == ["scores"]
    # The model is registered from this run, with the alias the demo prints.
    version = flowtrack.Client().get_model_version_by_alias("flowtrack-demo-classifier", "champion")
    assert version.run_id == run_id and version.version == 1
    model = flowtrack.models.load("models:/flowtrack-demo-classifier@champion")
    test = (ft_home / "demo" / "test.csv").read_text().splitlines()
    assert len(test) == 115  # header + 20% of the 569 rows
    assert "registered: flowtrack-demo-classifier version 1, alias 'champion'" in demo.stdout
    assert model.metadata.run_id == run_id
    assert data["model_versions"] == [
        {
            "name": "flowtrack-demo-classifier",
            "version": 1,
            "stage": "None",
            "aliases": ["champion"],
            "source": f"runs:/{run_id}/model",
        }
    ]
    assert (
        "flowtrack-demo-classifier v1: None  @champion  runs:/" in ft("runs", "show", run_id).stdout
    )


def test_piped_output_is_never_cut(ft_home: Path) -> None:
    long_value = "v" * 3000
    with flowtrack.start_run(run_name="long-" + "n" * 200) as run:
        flowtrack.set_tag("long", long_value)
    shown = ft("runs", "show", run.info.run_id).stdout
    assert f"long: {long_value}" in shown
    listed = ft("runs", "list").stdout
    assert "long-" + "n" * 200 in listed
    assert run.info.run_id in listed


def test_runs_list_filter_and_order(ft_home: Path) -> None:
    flowtrack.set_experiment("cli-search")
    for auc in (0.7, 0.95, 0.9):
        with flowtrack.start_run(run_name=f"auc-{auc}"):
            flowtrack.log_metric("auc", auc)
    rows = json.loads(
        ft(
            "runs",
            "list",
            "-e",
            "cli-search",
            "-f",
            "metrics.auc > 0.8",
            "-o",
            "metrics.auc DESC",
            "--json",
        ).stdout
    )
    assert [r["run_name"] for r in rows] == ["auc-0.95", "auc-0.9"]


def test_experiments_create_rename_delete_restore(ft_home: Path) -> None:
    assert "Created experiment 'exp-a'" in ft("experiments", "create", "exp-a").stdout
    ft("experiments", "rename", "exp-a", "exp-b")
    listed = json.loads(ft("experiments", "list", "--json").stdout)
    ids = {e["name"]: e["experiment_id"] for e in listed}
    assert "exp-b" in ids and "exp-a" not in ids
    ft("experiments", "delete", "exp-b")
    assert "exp-b" not in ft("experiments", "list").stdout
    assert "exp-b" in ft("experiments", "list", "--all").stdout
    ft("experiments", "restore", ids["exp-b"])
    assert "exp-b" in ft("experiments", "list").stdout


def test_runs_delete_and_restore(ft_home: Path) -> None:
    with flowtrack.start_run() as run:
        pass
    ft("runs", "delete", run.info.run_id)
    assert run.info.run_id not in ft("runs", "list").stdout
    ft("runs", "restore", run.info.run_id)
    assert run.info.run_id in ft("runs", "list").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("runs", "show", "f" * 32), "run 'ffffffffffffffffffffffffffffffff' does not exist"),
        (("runs", "list", "-e", "nope"), "experiment 'nope' does not exist"),
        (("runs", "list", "-f", "metrics.auc >> 1"), "filter"),
    ],
)
def test_errors_are_one_clear_line(ft_home: Path, args: tuple[str, ...], message: str) -> None:
    flowtrack.set_experiment("exists")
    with flowtrack.start_run():
        pass
    done = ft(*args, check=False)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr

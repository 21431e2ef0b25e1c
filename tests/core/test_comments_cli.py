"""``flowtrack runs|models|data comment`` and ``comments`` on the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import flowtrack
import pytest
from click.testing import CliRunner
from flowtrack.cli.main import cli


def _ft(*args: str, stdin: str | None = None, ok: bool = True) -> str:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    assert (result.exit_code == 0) == ok, result.output
    return result.output


def test_comment_on_runs_models_and_data(
    ft_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWTRACK_USER", "dana")
    data = tmp_path / "d.csv"
    data.write_text("a\n1\n")
    with flowtrack.start_run() as run:
        version = flowtrack.log_input(data, name="d")
        flowtrack.log_text("w", "model/m.txt")
    assert flowtrack.flush() and version is not None
    run_id = run.info.run_id

    assert "No comments yet on run" in _ft("runs", "comments", run_id)
    made = _ft("runs", "comment", run_id, "**first** look")
    assert "Comment #" in made and f"run {run_id} by dana" in made
    first = int(made.split("#")[1].split()[0])
    _ft("runs", "comment", run_id, "-", "--reply-to", str(first), stdin="line one\nline two\n")
    shown = _ft("runs", "comments", run_id)
    assert f"#{first} dana" in shown and "**first** look" in shown
    # The reply is indented under its thread, its lines kept.
    assert "\n      line one\n      line two\n" in shown
    _ft("runs", "comment", run_id, "--edit", str(first), "second look")
    listed = json.loads(_ft("runs", "comments", run_id, "--json"))
    assert [c["body"] for c in listed] == ["second look", "line one\nline two\n"]
    assert listed[1]["reply_to"] == first
    assert "Deleted comment" in _ft("runs", "comment", run_id, "--delete", str(first))
    assert "(deleted)" in _ft("runs", "comments", run_id)

    # Errors are one line naming what is wrong.
    missing = _ft("runs", "comment", "f" * 32, "x", ok=False)
    assert f"run '{'f' * 32}' does not exist" in missing
    assert "TEXT is required" in _ft("runs", "comment", run_id, ok=False)
    assert "invalid body" in _ft("runs", "comment", run_id, "   ", ok=False)

    flowtrack.register_model(f"runs:/{run_id}/model", "cli-model")
    _ft("models", "comment", "cli-model", "1", "ship it")
    assert "ship it" in _ft("models", "comments", "cli-model", "1")
    missing_version = _ft("models", "comment", "cli-model", "7", "x", ok=False)
    assert (
        "model version 'cli-model/7' does not exist; versions of 'cli-model': 1" in missing_version
    )
    _ft("data", "comment", version.version_id, "rows look fine")
    assert "rows look fine" in _ft("data", "comments", version.version_id)

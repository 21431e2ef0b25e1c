"""`flowtrack models` registry and batch commands, through click's runner on a real store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flowtrack
import pytest
from click.testing import CliRunner, Result
from flowtrack.cli.main import cli

NAME = "iris"


@dataclass
class Registered:
    X: Any
    expected: list[int]
    run_ids: list[str]
    uris: list[str]


def ft(*args: str, input: bytes | str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def registered(ft_home: Path) -> Registered:
    """Two versions of an iris classifier: 1 in Production with alias champion, 2 in Staging."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    run_ids, uris = [], []
    for _ in range(2):
        with flowtrack.start_run() as run:
            info = flowtrack.models.log_model(clf, "model", input_example=X[:3])
        run_ids.append(run.info.run_id)
        uris.append(info.uri)
    client = flowtrack.Client()
    client.create_registered_model(NAME, tags={"team": "bio"}, description="iris species")
    flowtrack.register_model(uris[0], NAME, description="first")
    flowtrack.register_model(uris[1], NAME)
    client.set_alias(NAME, "champion", 1)
    client.transition_stage(NAME, 1, "Production")
    client.transition_stage(NAME, 2, "Staging")
    sample = X.iloc[::10].reset_index(drop=True)
    return Registered(sample, clf.predict(sample).tolist(), run_ids, uris)


def test_list(registered: Registered) -> None:
    flowtrack.Client().create_registered_model("empty-model")
    out = ft("models", "list")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    iris = next(line for line in lines if f" {NAME} " in line)
    assert " 2 " in iris and "champion=1" in iris and "iris species" in iris
    assert any("empty-model" in line for line in lines)
    data = json.loads(ft("models", "list", "--json").output)
    by_name = {m["name"]: m for m in data}
    assert by_name[NAME]["latest_version"] == 2
    assert by_name[NAME]["aliases"] == {"champion": 1}
    assert by_name["empty-model"]["latest_version"] is None
    filtered = json.loads(ft("models", "list", "--json", "-f", "name LIKE 'emp%'").output)
    assert [m["name"] for m in filtered] == ["empty-model"]


def test_list_on_an_empty_store() -> None:
    out = ft("models", "list")
    assert out.exit_code == 0
    assert "No registered models" in out.output and "flowtrack models register" in out.output


def test_show(registered: Registered) -> None:
    out = ft("models", "show", NAME)
    assert out.exit_code == 0, out.output
    text = out.output
    for expected in ("Registered model iris", "iris species", "team: bio", "champion: 1"):
        assert expected in text, expected
    rows = {line.split()[1]: line for line in text.splitlines() if line.startswith("│ ")}
    assert "Production" in rows["1"] and "champion" in rows["1"] and "first" in rows["1"]
    assert "Staging" in rows["2"] and registered.run_ids[1] in rows["2"]
    data = json.loads(ft("models", "show", NAME, "--json").output)
    assert data["tags"] == {"team": "bio"}
    assert [(v["version"], v["current_stage"]) for v in data["versions"]] == [
        (2, "Staging"),
        (1, "Production"),
    ]


def test_versions(registered: Registered) -> None:
    out = ft("models", "versions", NAME)
    assert out.exit_code == 0, out.output
    # Piped output is never cut short: full run ids and sources.
    for run_id, uri in zip(registered.run_ids, registered.uris, strict=True):
        assert run_id in out.output and uri in out.output
    data = json.loads(ft("models", "versions", NAME, "--json").output)
    assert [(v["version"], v["current_stage"], v["aliases"]) for v in data] == [
        (2, "Staging", []),
        (1, "Production", ["champion"]),
    ]
    assert data[1]["source"] == registered.uris[0] and data[1]["run_id"] == registered.run_ids[0]


def test_history(registered: Registered) -> None:
    data = json.loads(ft("models", "history", NAME, "--json").output)
    actions = [(e["action"], e["version"]) for e in data]
    assert actions == [
        ("create_model", None),
        ("create_version", 1),
        ("create_version", 2),
        ("set_alias", 1),
        ("transition_stage", 1),
        ("transition_stage", 2),
    ]
    out = ft("models", "history", NAME, "--version", "1")
    assert out.exit_code == 0, out.output
    assert "set_alias" in out.output and "alias=champion" in out.output
    assert "new=Production" in out.output and "Staging" not in out.output


def test_set_alias_delete_alias_and_transition(registered: Registered) -> None:
    out = ft("models", "set-alias", NAME, "champion", "2")
    assert out.exit_code == 0, out.output
    assert "now points at version 2" in out.output and "models:/iris@champion" in out.output
    client = flowtrack.Client()
    assert client.get_model_version_by_alias(NAME, "champion").version == 2

    out = ft("models", "transition", NAME, "2", "production", "--archive-existing")
    assert out.exit_code == 0, out.output
    assert "iris version 2 is now in Production" in out.output
    assert "Archived versions 1" in out.output
    assert client.get_model_version(NAME, 1).current_stage == "Archived"

    out = ft("models", "delete-alias", NAME, "champion")
    assert out.exit_code == 0, out.output
    assert client.get_registered_model(NAME).aliases == {}


def test_register(registered: Registered) -> None:
    out = ft("models", "register", registered.uris[1], "other", "-d", "from the CLI", "-t", "k=v")
    assert out.exit_code == 0, out.output
    assert f"Registered {registered.uris[1]} as other version 1 (models:/other/1)" in out.output
    version = flowtrack.Client().get_model_version("other", 1)
    assert (version.description, version.tags) == ("from the CLI", {"k": "v"})


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("show", "nope"), "registered model 'nope' does not exist"),
        (("versions", "nope"), "registered model 'nope' does not exist"),
        (("set-alias", NAME, "latest", "1"), "reserved"),
        (("set-alias", NAME, "ok", "9"), "9"),
        (("transition", NAME, "1", "Prod"), "Prod"),
        (("register", "/some/folder", "x"), "runs:/<run_id>/<path>"),
        (("register", "runs:/0123456789abcdef0123456789abcdef/model", "x"), "does not exist"),
        (("tag-free", "x"), "No such command"),
        (("set-alias", NAME, "a", "one"), "'one' is not a valid integer"),
        (("register", "runs:/x/model", "y", "-t", "novalue"), "not KEY=VALUE"),
    ],
)
def test_errors_are_one_clear_line(
    registered: Registered, args: tuple[str, ...], says: str
) -> None:
    out = CliRunner().invoke(cli, ["models", *args])
    assert out.exit_code != 0
    assert says in out.output, out.output
    assert "Traceback" not in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)


# -- batch predict ---------------------------------------------------------------------------


def test_predict_csv_to_csv(registered: Registered, tmp_path: Path) -> None:
    source = tmp_path / "input.csv"
    registered.X.to_csv(source, index=False)
    target = tmp_path / "out.csv"
    out = ft("models", "predict", f"models:/{NAME}@champion", "-i", str(source), "-o", str(target))
    assert out.exit_code == 0, out.output
    lines = target.read_text().splitlines()
    assert lines[0] == "prediction"
    assert [int(v) for v in lines[1:]] == registered.expected
    assert f"Wrote {len(registered.expected)} predictions" in out.output


def test_predict_json_to_json_and_csv_to_json(registered: Registered, tmp_path: Path) -> None:
    source = tmp_path / "input.json"
    split = registered.X.to_dict(orient="split", index=False)
    source.write_text(json.dumps({"dataframe_split": split}))
    target = tmp_path / "out.json"
    out = ft("models", "predict", f"models:/{NAME}/1", "-i", str(source), "-o", str(target))
    assert out.exit_code == 0, out.output
    assert json.loads(target.read_text()) == {"predictions": registered.expected}

    csv_in = tmp_path / "rows.txt"  # no telling suffix: --content-type says it
    registered.X.to_csv(csv_in, index=False)
    out = ft(
        "models",
        "predict",
        registered.uris[0],
        "-i",
        str(csv_in),
        "-t",
        "csv",
        "-o",
        str(tmp_path / "p.json"),
    )
    assert out.exit_code == 0, out.output
    assert json.loads((tmp_path / "p.json").read_text()) == {"predictions": registered.expected}


def test_predict_stdin_to_stdout(registered: Registered) -> None:
    records = json.dumps({"dataframe_records": registered.X.to_dict(orient="records")})
    out = CliRunner().invoke(
        cli,
        ["models", "predict", f"models:/{NAME}/production", "-i", "-", "-o", "-"],
        input=records,
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == {"predictions": registered.expected}

    csv_text = registered.X.to_csv(index=False)
    out = CliRunner().invoke(
        cli,
        ["models", "predict", f"models:/{NAME}/production", "-i", "-", "--output-format", "csv"],
        input=csv_text,
    )
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines() == ["prediction", *map(str, registered.expected)]


def test_predict_bad_input_changes_nothing(registered: Registered, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    source = work / "input.csv"
    registered.X.drop(columns=["sepal length (cm)"]).to_csv(source, index=False)
    target = work / "out.csv"
    out = CliRunner().invoke(
        cli, ["models", "predict", f"models:/{NAME}/1", "-i", str(source), "-o", str(target)]
    )
    assert out.exit_code == 1
    assert "model input 'sepal length (cm)' is missing" in out.output
    assert not target.exists()

    source.write_text('{"rows": []}')
    out = CliRunner().invoke(
        cli, ["models", "predict", f"models:/{NAME}/1", "-i", str(source), "-t", "json"]
    )
    assert out.exit_code == 1
    assert "the keys ['rows']" in out.output and "dataframe_split" in out.output

    out = CliRunner().invoke(
        cli, ["models", "predict", f"models:/{NAME}/1", "-i", str(work / "missing.csv")]
    )
    assert out.exit_code == 1 and "does not exist" in out.output
    assert list(work.iterdir()) == [source]

"""`flowtrack_k8s.annotations`: what a Job's flowtrack.dev/* annotations ask for, and a clear
problem (annotation, value, reason) for each bad one, never an exception."""

from __future__ import annotations

from flowtrack_k8s.annotations import Problem, is_tracked, parse

RUN_ID = "0123456789abcdef0123456789abcdef"


def test_every_annotation_is_read() -> None:
    config = parse(
        {
            "flowtrack.dev/experiment": " churn ",
            "flowtrack.dev/params": '{"alpha": 0.5, "layers": [64, 32], "opt": {"lr": "1e-3"}}',
            "flowtrack.dev/inputs": "s3://b/train/, s3://b/extra.csv",
            "flowtrack.dev/outputs": '["s3://b/model/"]',
            "flowtrack.dev/register-model": "churn",
            "flowtrack.dev/parent-run-id": RUN_ID.upper(),
            "flowtrack.dev/run-id": RUN_ID,
            "other.io/note": "not ours: ignored",
        },
        {"flowtrack.dev/track": "true", "team": "risk"},
    )
    assert config.problems == []
    assert config.experiment == "churn"
    assert config.params == {"alpha": "0.5", "layers": "[64, 32]", "opt.lr": "1e-3"}
    assert config.inputs == ["s3://b/train/", "s3://b/extra.csv"]
    assert config.outputs == ["s3://b/model/"]
    assert config.register_model == "churn"
    assert config.parent_run_id == RUN_ID
    assert config.run_id == RUN_ID


def test_bad_annotations_are_problems_naming_annotation_and_value() -> None:
    config = parse(
        {
            "flowtrack.dev/params": "[1, 2]",
            "flowtrack.dev/inputs": '["a", 3]',
            "flowtrack.dev/register-model": "churn",
            "flowtrack.dev/parent-run-id": "run-42",
            "flowtrack.dev/experiment": "",
            "flowtrack.dev/output": "s3://b/typo/",
        },
        {"flowtrack.dev/track": "true"},
    )
    found = {p.annotation: p for p in config.problems}
    assert set(found) == {
        "flowtrack.dev/params",
        "flowtrack.dev/inputs",
        "flowtrack.dev/register-model",
        "flowtrack.dev/parent-run-id",
        "flowtrack.dev/experiment",
        "flowtrack.dev/output",
    }
    assert "must be a JSON object, not list" in str(found["flowtrack.dev/params"])
    assert "'[1, 2]'" in str(found["flowtrack.dev/params"])
    assert "needs flowtrack.dev/outputs" in found["flowtrack.dev/register-model"].reason
    assert "'run-42'" in str(found["flowtrack.dev/parent-run-id"])
    assert "known:" in found["flowtrack.dev/output"].reason
    assert config.params == {} and config.inputs == [] and config.parent_run_id is None


def test_a_long_bad_value_is_cut_in_the_message() -> None:
    problem = Problem("flowtrack.dev/params", "{" * 5000, "is not valid JSON")
    assert len(str(problem)) < 400


def test_only_the_true_label_tracks() -> None:
    assert is_tracked({"flowtrack.dev/track": "True"})
    assert not is_tracked({"flowtrack.dev/track": "false"})
    assert not is_tracked(None)

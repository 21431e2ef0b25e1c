"""The run-search filter and order_by parser alone: what it accepts and how it rejects."""

from __future__ import annotations

import pytest
from flowtrack.errors import InvalidInputError
from flowtrack.search.grammar import Comparison, OrderBy, parse_filter, parse_order_by

C = Comparison


@pytest.mark.parametrize("text", [None, "", "   \n\t"])
def test_empty_filter_has_no_comparisons(text: str | None) -> None:
    assert parse_filter(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.auc > 0.9", [C("metric", "auc", ">", 0.9)]),
        ("metric.auc>=1", [C("metric", "auc", ">=", 1)]),
        ("metrics.loss <= -1.5e-3", [C("metric", "loss", "<=", -0.0015)]),
        ("metrics.loss < .5", [C("metric", "loss", "<", 0.5)]),
        ("metrics.loss != +2", [C("metric", "loss", "!=", 2)]),
        ("metrics.`my metric` = 3", [C("metric", "my metric", "=", 3)]),
        ('metrics."val.acc" = 3', [C("metric", "val.acc", "=", 3)]),
        ("metrics.train/loss < 3", [C("metric", "train/loss", "<", 3)]),
        ("metrics.val-loss>-1", [C("metric", "val-loss", ">", -1)]),
        ("metrics.a:b.c=1", [C("metric", "a:b.c", "=", 1)]),
        ("params.alpha = '0.5'", [C("param", "alpha", "=", "0.5")]),
        ('param.alpha != "0.5"', [C("param", "alpha", "!=", "0.5")]),
        ("parameters.alpha = ''", [C("param", "alpha", "=", "")]),
        ("params.model LIKE 'Ab%'", [C("param", "model", "LIKE", "Ab%")]),
        ("params.model ilike 'ab\\%'", [C("param", "model", "ILIKE", "ab\\%")]),
        ("params.p = 'it''s'", [C("param", "p", "=", "it's")]),
        ('params.p = "say ""hi"""', [C("param", "p", "=", 'say "hi"')]),
        ("params.p = 'a AND b'", [C("param", "p", "=", "a AND b")]),
        ("tags.team IN ('risk', \"growth\")", [C("tag", "team", "IN", ("risk", "growth"))]),
        ("tag.team not   in ('risk')", [C("tag", "team", "NOT IN", ("risk",))]),
        ("tags.mlflow.runName = 'x'", [C("tag", "mlflow.runName", "=", "x")]),
        ('tags."mlflow.user" = "bob"', [C("tag", "mlflow.user", "=", "bob")]),
        ("tags.`a key` = 'v'", [C("tag", "a key", "=", "v")]),
        ("attributes.status = 'FINISHED'", [C("attribute", "status", "=", "FINISHED")]),
        ("status != 'FINISHED'", [C("attribute", "status", "!=", "FINISHED")]),
        ("attr.run_name LIKE 'a%'", [C("attribute", "run_name", "LIKE", "a%")]),
        ("run.run_uuid IN ('a', 'b')", [C("attribute", "run_id", "IN", ("a", "b"))]),
        ("attributes.`run name` = 'x'", [C("attribute", "run_name", "=", "x")]),
        ("attribute.Created > 5", [C("attribute", "start_time", ">", 5)]),
        ("end_time <= 1700000000000", [C("attribute", "end_time", "<=", 1700000000000)]),
        ("experiment_id = '3'", [C("attribute", "experiment_id", "=", "3")]),
        ("parent_run_id = 'abc'", [C("attribute", "parent_run_id", "=", "abc")]),
        ("lifecycle_stage = 'active'", [C("attribute", "lifecycle_stage", "=", "active")]),
        ("source_type = 'airflow'", [C("attribute", "source_type", "=", "airflow")]),
        ("user_id ILIKE 'A%'", [C("attribute", "user_id", "ILIKE", "A%")]),
        ("artifact_uri LIKE 's3://%'", [C("attribute", "artifact_uri", "LIKE", "s3://%")]),
        (
            "metrics.auc > 0.9 and params.alpha = '0.5' AND tags.team = 'risk' aNd status = 'X'",
            [
                C("metric", "auc", ">", 0.9),
                C("param", "alpha", "=", "0.5"),
                C("tag", "team", "=", "risk"),
                C("attribute", "status", "=", "X"),
            ],
        ),
    ],
)
def test_valid_filters(text: str, expected: list[Comparison]) -> None:
    assert parse_filter(text) == expected


def test_number_types_are_kept() -> None:
    (whole, fraction) = parse_filter("metrics.a = 3 and metrics.b = 3.0")
    assert type(whole.value) is int
    assert type(fraction.value) is float


@pytest.mark.parametrize(
    ("text", "bad", "reason"),
    [
        ("metrics.a > 1 or metrics.b < 2", "or", "OR is not supported"),
        ("metrics.a > 1 OR metrics.b < 2", "OR", "only be joined with AND"),
        ("metrics.a > '1'", "'1'", "unquoted number"),
        ("start_time >= '5'", "'5'", "unquoted number"),
        ("params.a = 1", "1", "quoted strings"),
        ("status = 1.5", "1.5", "quoted strings"),
        ("params.a > '1'", ">", "=, !=, LIKE, ILIKE, IN, NOT IN"),
        ("tags.a <= 'x'", "<=", "does not apply to tags"),
        ("run_name >= 'x'", ">=", "does not apply to attribute run_name"),
        ("metrics.a LIKE '1'", "LIKE", "=, !=, >, >=, <, <="),
        ("metrics.a IN ('1')", "IN", "does not apply to metrics"),
        ("end_time ILIKE 'x'", "ILIKE", "does not apply to attribute end_time"),
        ("foo.bar = 'x'", "foo.bar", "unknown prefix 'foo'"),
        ("metrics = 1", "metrics", "write metrics.<key>"),
        ("bogus = 'x'", "bogus", "not a searchable attribute"),
        ("attributes.bogus = 'x'", "attributes.bogus", "not a searchable attribute"),
        ("metrics. > 1", "metrics.", "needs a key"),
        ("metrics.a > 1 and", "and", "filter ends"),
        ("metrics.a >", ">", "filter ends"),
        ("metrics.a", "metrics.a", "filter ends"),
        ("metrics.a == 1", "==", "comparison operator"),
        ("metrics.a <> 1", "<>", "comparison operator"),
        ("metrics.a IS NULL", "IS", "comparison operator"),
        ("params.a NOT LIKE 'x'", "LIKE", "IN after NOT"),
        ("params.a IN 'x'", "'x'", "parenthesized list"),
        ("params.a NOT IN 'x'", "'x'", "parenthesized list"),
        ("params.a IN ()", ")", "quoted string in the IN list"),
        ("params.a IN ('x',)", ")", "quoted string in the IN list"),
        ("params.a IN ('x', 1)", "1", "quoted string in the IN list"),
        ("params.a IN ('x' 'y')", "'y'", "',' or ')'"),
        ("params.a IN ('x'", "'x'", "filter ends"),
        ("params.a = ('x')", "=", "needs IN or NOT IN"),
        ("(metrics.a > 1)", "(", "parentheses is not supported"),
        ("params.a = 'x", "'x", "unterminated string"),
        ("tags.`abc = 'x'", "`abc = 'x'", "unterminated key"),
        ('tags."abc = 1', '"abc = 1', "unterminated key"),
        ("metrics.a > 1.2.3", "1.2.3", "not a number"),
        ("metrics.a > 12abc", "12abc", "not a number"),
        ("metrics.a > 1 metrics.b > 2", "metrics.b", "AND or the end"),
        ("params.a = 'x' ; drop table runs", ";", "unexpected character"),
        ("é = 'x'", "é", "unexpected character"),
        ("tags.\"\" = 'x'", 'tags.""', "needs a key"),
        ("metrics.a > 1 and and metrics.b > 1", "and", "not a searchable attribute"),
    ],
)
def test_invalid_filters_name_the_bad_part(text: str, bad: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_filter(text)
    assert caught.value.field == "filter"
    assert caught.value.value == bad
    assert repr(bad) in str(caught.value)
    assert reason in caught.value.reason


def test_error_reports_the_position() -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_filter("metrics.a > 1 and params.b > '2'")
    assert "(at position 27)" in caught.value.reason


@pytest.mark.parametrize("items", [None, []])
def test_empty_order_by(items: list[str] | None) -> None:
    assert parse_order_by(items) == []


def test_valid_order_by() -> None:
    assert parse_order_by(
        [
            "metrics.auc DESC",
            "params.alpha",
            "attributes.start_time ASC",
            "tags.`my tag` desc",
            "run_name",
            "tags.mlflow.runName asc",
        ]
    ) == [
        OrderBy("metric", "auc", ascending=False),
        OrderBy("param", "alpha"),
        OrderBy("attribute", "start_time"),
        OrderBy("tag", "my tag", ascending=False),
        OrderBy("attribute", "run_name"),
        OrderBy("tag", "mlflow.runName"),
    ]
    assert parse_order_by(["  end_time   DESC "]) == [OrderBy("attribute", "end_time", False)]
    assert parse_order_by(["created"]) == [OrderBy("attribute", "start_time")]


@pytest.mark.parametrize(
    ("items", "bad", "reason"),
    [
        (["metrics.auc up"], "up", "expected ASC, DESC or nothing"),
        (["metrics.auc DESC ASC"], "ASC", "expected ASC, DESC or nothing"),
        (["bogus"], "bogus", "not a searchable attribute"),
        (["foo.bar"], "foo.bar", "unknown prefix"),
        (["params"], "params", "write params.<key>"),
        ([""], "", "expected an identifier"),
        (["DESC"], "DESC", "not a searchable attribute"),
        (["metrics.a", "metric.a DESC"], "metric.a DESC", "same field"),
        (["start_time", "attributes.created"], "attributes.created", "same field"),
        (["metrics.a;"], ";", "unexpected character"),
        ("metrics.a", "metrics.a", "list of strings"),
    ],
)
def test_invalid_order_by_names_the_bad_part(items: list[str], bad: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_order_by(items)
    assert caught.value.field == "order_by"
    assert caught.value.value == bad
    assert repr(bad) in str(caught.value)
    assert reason in caught.value.reason

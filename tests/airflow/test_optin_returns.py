"""Per-DAG opt-in ([flowtrack] mode = opt_in: by tag, by param) and task return values
versioned as outputs (on by a DAG param, off by a task's), in real DAG runs."""

from __future__ import annotations

import json
from pathlib import Path

import flowtrack
import pandas as pd
import pytest

from tests.airflow.helpers import dag_run, load_dag, load_module, runs_of, tasks_of

pytestmark = pytest.mark.slow


def test_opt_in_mode_records_only_the_dags_that_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__FLOWTRACK__MODE", "opt_in")
    module = load_module("ft_optin")
    results = {
        dag.dag_id: dag.test() for dag in (module.DAG_TAG, module.DAG_PARAM, module.DAG_NONE)
    }
    assert all("success" in str(r.state).lower() for r in results.values())
    client = flowtrack.Client()
    for dag_id in ("ft_optin_tag", "ft_optin_param"):
        runs = runs_of(dag_id)
        top = dag_run(runs, results[dag_id].run_id)
        assert top.info.status == "FINISHED"  # the DAG-run hook decided as the task's did
        (task,) = tasks_of(runs, top).values()
        assert task.data.metrics == {"worked": 1.0}
        # Return values are not versioned unless asked for.
        assert client.get_run_outputs(task.info.run_id) == []
    experiments = [e.name for e in client.search_experiments().items]
    assert "ft_optin_none" not in experiments
    # The opted-out DAG's task still logged its metric: to a plain run, as without the plugin.
    plain = [
        r
        for e in experiments
        for r in client.search_runs(e).items
        if r.info.source_type != "airflow"
    ]
    assert [(r.info.source_type, r.data.metrics) for r in plain] == [("python", {"worked": 1.0})]


def test_returns_are_versioned_when_the_dag_opts_in() -> None:
    result = load_dag("ft_returns").test()
    assert "success" in str(result.state).lower()
    runs = runs_of("ft_returns")
    tasks = tasks_of(runs, dag_run(runs, result.run_id))
    client = flowtrack.Client()
    outputs = {k: client.get_run_outputs(t.info.run_id) for k, t in tasks.items()}
    assert outputs["opted_out"] == [] and outputs["nothing"] == []
    (as_dict,) = outputs["as_dict"]
    assert as_dict.name == "ft_returns.as_dict.json"
    text = Path(as_dict.uri).read_text()
    assert text == '{\n  "a": "x",\n  "b": [\n    1,\n    2\n  ]\n}\n'  # canonical: sorted keys
    (as_number,) = outputs["as_number"]
    assert json.loads(Path(as_number.uri).read_text()) == 42
    (as_frame,) = outputs["as_frame"]
    assert as_frame.name == "ft_returns.as_frame.parquet"
    frame = pd.read_parquet(as_frame.uri)
    assert frame.to_dict("list") == {"a": [1, 2], "b": [0.5, 1.5]}
    # The same value is the same version, whichever run returns it again.
    again = load_dag("ft_returns").test()
    runs = runs_of("ft_returns")
    second = tasks_of(runs, dag_run(runs, again.run_id))["as_dict"]
    (same,) = client.get_run_outputs(second.info.run_id)
    assert same.version_id == as_dict.version_id

"""The Pipelines pages in a real browser (Debian's chromium through Playwright): the list of DAG
runs and flow runs, a DAG run's graph and timeline, a flow run with a subflow, the notes when no
upstream tasks were recorded, the empty state and an unknown run. Pipelines seeded as the
adapters record them (tests/core/pipelineseed.py); screenshots in test-artifacts/ui/.

Its own module (the browser fixture is module-scoped: one chromium for these tests)."""

# The fixtures are imported from uibrowser.py and named again as test parameters:
# ruff: noqa: F811
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.core.pipelineseed import pipeline_events
from tests.core.serverfixtures import running_server
from tests.core.uibrowser import Console, Seeded, browser, console, page, shot  # noqa: F401

pytestmark = pytest.mark.slow

FAILED_RED = "#dc2626"
SUCCESS_GREEN = "#16a34a"


@pytest.fixture(scope="module")
def piped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    folder = tmp_path_factory.mktemp("ui-pipelines")
    with running_server(folder) as server:
        made = requests.post(f"{server.url}/api/v1/experiments", json={"name": "etl"}, timeout=30)
        events, ids = pipeline_events(
            made.json()["experiment_id"], int(time.time() * 1000) - 600_000
        )
        written = requests.post(f"{server.url}/api/v1/events", json={"events": events}, timeout=60)
        assert written.status_code == 200 and not written.json()["rejections"], written.text
        yield Seeded(server, ids)


def _nodes(page: Any) -> dict[str, dict[str, str]]:
    """task label -> {state, fill colour of its box, href}."""
    page.locator("#pipeline-graph .node").first.wait_for()
    found: dict[str, dict[str, str]] = page.eval_on_selector_all(
        "#pipeline-graph .node",
        """els => Object.fromEntries(els.map(a => [a.dataset.task, {
            state: a.dataset.state,
            stroke: a.querySelector('.node-box').getAttribute('stroke'),
            href: a.getAttribute('href'),
            text: a.textContent,
        }]))""",
    )
    return found


def _per_task(page: Any, selector: str, expression: str) -> dict[str, float]:
    """task label -> the JavaScript ``expression`` of each element ``e`` matching ``selector``."""
    found: dict[str, float] = page.eval_on_selector_all(
        selector, f"els => Object.fromEntries(els.map(e => [e.dataset.task, {expression}]))"
    )
    return found


def test_pipelines_list_filters_and_pages(page: Any, piped: Seeded) -> None:
    ids = piped.ids
    page.goto(piped.url + "/")
    page.get_by_role("link", name="Pipelines", exact=True).click()
    page.wait_for_url("**/pipelines")
    rows = page.locator("#pipelines tbody tr")
    rows.first.wait_for()
    assert rows.count() == 4
    first = rows.first
    assert first.get_attribute("data-run-id") == ids["dag_run"]
    assert first.locator(".pipeline-link").inner_text() == "churn_etl"
    assert first.locator(".badge.state").inner_text() == "failed"
    counts = first.locator(".state-count")
    assert {c.get_attribute("data-state"): c.inner_text() for c in counts.all()} == {
        "success": "6",
        "failed": "1",
        "upstream_failed": "1",
        "skipped": "1",
    }
    assert "1 min 35 s" in first.inner_text()  # its duration
    assert "1\N{EN DASH}4 of 4" in page.locator("#pipelines-summary").inner_text()
    shot(page, "7-pipelines")

    page.select_option("#pipeline-source", "prefect")
    expect(rows).to_have_count(1, timeout=15_000)
    assert "train-flow" in rows.first.inner_text()
    assert "source=prefect" in page.url
    page.select_option("#pipeline-source", "")
    page.select_option("#pipeline-name", "churn_etl")
    expect(rows).to_have_count(2, timeout=15_000)
    assert [r.get_attribute("data-run-id") for r in rows.all()] == [ids["dag_run"], ids["dag_old"]]
    # The filter is in the address: reloading keeps it.
    page.reload()
    expect(rows).to_have_count(2, timeout=15_000)
    assert page.locator("#pipeline-name").input_value() == "churn_etl"
    rows.first.locator(".pipeline-link").click()
    page.wait_for_url(f"**/pipelines/{ids['dag_run']}")
    page.locator("#pipeline-graph").wait_for()


def test_dag_run_graph_and_timeline(page: Any, piped: Seeded) -> None:
    ids = piped.ids
    page.goto(f"{piped.url}/pipelines/{ids['dag_run']}")
    nodes = _nodes(page)
    assert set(nodes) == {
        "extract",
        "validate",
        "transform[0]",
        "transform[1]",
        "transform[2]",
        "notify",
        "train",
        "evaluate",
        "publish",
    }
    assert nodes["evaluate"]["state"] == "failed" and nodes["evaluate"]["stroke"] == FAILED_RED
    assert nodes["extract"]["state"] == "success" and nodes["extract"]["stroke"] == SUCCESS_GREEN
    assert nodes["notify"]["state"] == "skipped"
    assert nodes["publish"]["state"] == "upstream_failed"
    assert (
        "\N{MULTIPLICATION SIGN}2" in nodes["train"]["text"] and "try 2" in nodes["train"]["text"]
    )
    assert "map 1" in nodes["transform[1]"]["text"]
    assert nodes["evaluate"]["href"] == f"/runs/{ids['dag_tasks']['evaluate']}"
    assert page.locator("#pipeline-graph .edge").count() == 10
    assert page.locator("#edges-note").count() == 0  # edges as recorded
    # The layout runs left to right: a task is right of its upstream task.
    xs = _per_task(page, "#pipeline-graph .node", "+e.querySelector('rect').getAttribute('x')")
    assert xs["extract"] < xs["validate"] < xs["transform[0]"] < xs["train"] < xs["evaluate"]
    assert "failed" in page.locator(".page-head .badge.state").inner_text()
    assert "churn_etl" in page.locator(".crumbs").inner_text()

    bars = page.locator("#gantt .gantt-bar")
    assert bars.count() == 9
    evaluate = page.locator("#gantt .gantt-row[data-task='evaluate']")
    assert evaluate.locator(".gantt-bar").get_attribute("fill") == FAILED_RED
    widths = _per_task(
        page, "#gantt .gantt-row", "+e.querySelector('.gantt-bar').getAttribute('width')"
    )
    assert widths["train"] > widths["evaluate"] > widths["extract"]  # 38 s, 19 s, 8 s
    evaluate.locator(".gantt-bar").hover()
    tip = page.locator(".gantt-tip")
    tip.wait_for()
    assert "evaluate · failed" in tip.inner_text() and "19.0 s" in tip.inner_text()
    assert "→" in tip.inner_text()
    shot(page, "7-pipeline-dag")

    page.locator("#pipeline-graph .node[data-task='evaluate']").click()
    page.wait_for_url(f"**/runs/{ids['dag_tasks']['evaluate']}")
    page.locator("#pipeline-link", has_text="Its pipeline").click()
    page.wait_for_url(f"**/pipelines/{ids['dag_run']}")
    page.goto(f"{piped.url}/runs/{ids['dag_run']}")
    page.locator("#pipeline-link", has_text="Pipeline graph").click()
    page.wait_for_url(f"**/pipelines/{ids['dag_run']}")
    page.locator("#gantt").wait_for()


def test_flow_run_with_a_subflow(page: Any, piped: Seeded) -> None:
    ids = piped.ids
    page.goto(f"{piped.url}/pipelines/{ids['flow_run']}")
    nodes = _nodes(page)
    assert set(nodes) == {"load-0", "fit-0", "score-0", "evaluate-flow-run"}
    sub = page.locator("#pipeline-graph .node.subflow")
    assert sub.count() == 1
    assert "SUBFLOW" in sub.text_content() and "2 tasks" in sub.text_content()
    assert page.locator("#pipeline-graph .edge").count() == 2
    assert page.locator("#gantt .gantt-bar").count() == 4
    shot(page, "7-pipeline-prefect")
    sub.click()
    page.wait_for_url(f"**/pipelines/{ids['subflow']}")
    assert set(_nodes(page)) == {"check-0", "report-0"}
    assert "train-flow-run" in page.locator(".crumbs").inner_text()
    page.locator(".facts a", has_text="train-flow-run").click()
    page.wait_for_url(f"**/pipelines/{ids['flow_run']}")


def test_graph_without_recorded_upstream_tasks_says_so(page: Any, piped: Seeded) -> None:
    ids = piped.ids
    page.goto(f"{piped.url}/pipelines/{ids['lineage_run']}")
    _nodes(page)
    assert "data lineage" in page.locator("#edges-note").inner_text()
    assert page.locator("#pipeline-graph .edge").count() == 1
    page.goto(f"{piped.url}/pipelines/{ids['dag_old']}")
    nodes = _nodes(page)
    assert set(nodes) == {"extract", "validate", "train"}
    assert "start order, without edges" in page.locator("#edges-note").inner_text()
    assert page.locator("#pipeline-graph .edge").count() == 0
    shot(page, "7-pipeline-no-edges")


def test_empty_state_and_unknown_run(page: Any, console: Console, tmp_path: Path) -> None:
    with running_server(tmp_path / "empty") as server:
        page.goto(server.url + "/pipelines")
        hint = page.locator("#pipelines-hint")
        hint.wait_for()
        assert "pip install flowtrack-airflow" in hint.inner_text()
        assert "@tracked" in hint.inner_text()
        shot(page, "7-pipelines-empty")
        console.expect("404")
        response = page.goto(f"{server.url}/pipelines/{'f' * 32}")
        assert response.status == 404
        error = page.locator(".error-page")
        error.wait_for()
        assert re.search("404", error.inner_text()) and "f" * 32 in error.inner_text()

"""The web UI in a real browser (Debian's chromium through Playwright) on a seeded store:
every page is opened and clicked through, its content checked, the console kept free of
errors, and a screenshot saved under test-artifacts/ui/. The same with --auth is in
test_ui_auth_browser.py.

One module, so that the browser (a module-scoped fixture imported from uibrowser.py) starts once."""

# The fixtures are imported from uibrowser.py and named again as test parameters:
# ruff: noqa: F811
from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from tests.core.uibrowser import (  # noqa: F401
    Console,
    Seeded,
    browser,
    console,
    lineage_nodes,
    page,
    refused_alias,
    seeded,
    shot,
)
from tests.core.uiseed import MANY, XSS_NAME, XSS_PARAM

pytestmark = pytest.mark.slow


def test_experiments_page_lists_experiments_with_counts(page: Any, seeded: Seeded) -> None:
    page.goto(seeded.url + "/")
    table = page.locator("#experiments")
    table.wait_for()
    row = table.locator("tr", has=page.get_by_role("link", name="churn-model", exact=True))
    assert row.locator("td").nth(1).inner_text() == "6"
    assert "ago" in row.locator("td").nth(2).inner_text() or "just now" in row.inner_text()
    empty_row = table.locator("tr", has=page.get_by_role("link", name="empty-experiment"))
    assert "no runs" in empty_row.inner_text()
    shot(page, "1-experiments")
    row.get_by_role("link", name="churn-model").click()
    page.wait_for_url(f"**/experiments/{seeded.ids['churn_experiment']}")


def test_create_rename_delete_experiment(page: Any, seeded: Seeded, console: Console) -> None:
    page.goto(seeded.url + "/")
    page.click("#new-experiment")
    page.get_by_label("Name").fill("made-in-the-browser")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r".*/experiments/\d+$"))
    # A new experiment has no runs: the page says what to run.
    assert "No runs yet" in page.locator(".hint").inner_text()
    assert "flowtrack.start_run()" in page.locator(".hint").inner_text()
    shot(page, "2-runs-empty")

    page.goto(seeded.url + "/")
    row = page.locator("#experiments tr", has_text="made-in-the-browser")
    row.get_by_role("button", name="Rename").click()
    page.get_by_label("New name").fill("renamed-in-the-browser")
    page.get_by_role("button", name="Rename", exact=True).last.click()
    page.get_by_role("link", name="renamed-in-the-browser").wait_for()

    # A name taken is refused with the server's message, and the dialog stays open.
    console.expect("409")
    row = page.locator("#experiments tr", has_text="renamed-in-the-browser")
    row.get_by_role("button", name="Rename").click()
    page.get_by_label("New name").fill("churn-model")
    page.locator("dialog button[type=submit]").click()
    page.locator("dialog .form-error").filter(has_text=re.compile("UNIQUE|exists|taken")).wait_for()
    page.get_by_role("button", name="Cancel").click()

    row.get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Delete", exact=True).last.click()
    page.get_by_role("link", name="renamed-in-the-browser").wait_for(state="detached")
    names = [
        e["name"] for e in requests.get(seeded.url + "/api/v1/experiments").json()["experiments"]
    ]
    assert "renamed-in-the-browser" not in names


def test_runs_table_tree_sort_filter_columns(page: Any, seeded: Seeded, console: Console) -> None:
    ids = seeded.ids
    page.goto(f"{seeded.url}/experiments/{ids['churn_experiment']}")
    runs = page.locator("#runs tbody tr")
    runs.first.wait_for()
    # Three top-level runs; the sweep's three children are folded under it.
    assert runs.count() == 3
    assert "6 of 6 runs" in page.locator("#runs-summary").inner_text()
    sweep = page.locator(f"tr[data-run-id='{ids['sweep']}']")
    sweep.locator(".tree-toggle").click()
    assert runs.count() == 6
    child = page.locator(f"tr[data-run-id='{ids['children'][0]}']")
    assert child.get_attribute("class") == "child-row"
    assert child.locator("td").nth(1).inner_text().strip() == "alpha-0.1"
    # The Airflow-style link: a URL tag makes the source a link out.
    train = page.locator(f"tr[data-run-id='{ids['train']}']")
    assert train.locator("a.source-link").get_attribute("href") == "https://example.com/x"
    assert "FAILED" in page.locator(f"tr[data-run-id='{ids['failed']}']").inner_text()
    shot(page, "2-runs")

    # Sort by the auc column: the server orders by the latest metric.
    page.locator("#runs thead th", has_text=re.compile(r"^auc")).click()
    page.wait_for_url(re.compile(r"order=metrics"))
    page.locator("#runs th.sorted", has_text="auc").wait_for()
    first = page.locator("#runs tbody tr").first
    assert first.get_attribute("data-run-id") == ids["train"]  # auc 0.93 is the highest
    page.locator("#runs thead th", has_text=re.compile(r"^auc")).click()
    page.locator("#runs th.sorted", has_text="▲").wait_for()
    # Ascending: the lowest auc first; the sweep (no auc) still last.
    order = [r.get_attribute("data-run-id") for r in page.locator("#runs tbody tr").all()]
    assert order[0] == ids["failed"]
    assert order[2] == ids["sweep"]

    # Filter with the search grammar.
    page.fill("#filter", "metrics.auc > 0.9 and params.alpha = '0.5'")
    page.keyboard.press("Enter")
    page.locator("#runs-summary", has_text="match").wait_for()
    assert [r.get_attribute("data-run-id") for r in page.locator("#runs tbody tr").all()] == [
        ids["train"]
    ]
    # A bad filter: a clear error naming what is wrong, no table of stale runs.
    console.expect("400")
    page.fill("#filter", "metrics.auc >> 1")
    page.keyboard.press("Enter")
    error = page.locator("#filter-error .error-box")
    error.wait_for()
    assert "filter" in error.inner_text()
    assert page.locator("#runs").count() == 0
    shot(page, "2-runs-bad-filter")

    # Columns: add a tag column.
    page.get_by_role("button", name="Clear").click()
    page.locator("#runs").wait_for()
    page.locator(".columns-chooser summary").click()
    page.locator(".columns-panel label", has_text="team").locator("input").check()
    assert page.locator("#runs thead th", has_text="team").count() == 1
    assert "growth" in page.locator(f"tr[data-run-id='{ids['train']}']").inner_text()

    # Select two runs: Compare links to them.
    page.locator(".columns-chooser summary").click()
    page.locator(f"tr[data-run-id='{ids['train']}'] input[type=checkbox]").check()
    page.locator(f"tr[data-run-id='{ids['failed']}'] input[type=checkbox]").check()
    compare = page.locator("#compare")
    assert compare.inner_text() == "Compare 2 runs"
    compare.click()
    page.wait_for_url("**/compare?runs=*")
    page.locator("#compare-params").wait_for()


def test_runs_table_pages_as_it_scrolls(page: Any, seeded: Seeded) -> None:
    page.goto(f"{seeded.url}/experiments/{seeded.ids['many_experiment']}")
    summary = page.locator("#runs-summary")
    summary.filter(has_text=f"100 of {MANY} runs").wait_for()
    assert page.locator("#runs tbody tr").first.inner_text().split()[0] == f"run-{MANY - 1}"
    # Scrolling the table to its end loads the next page, in place.
    page.locator("#runs tbody tr").last.scroll_into_view_if_needed()
    summary.filter(has_text=f"200 of {MANY} runs").wait_for()
    assert page.locator(".table-scroll").evaluate("el => el.scrollTop") > 0
    page.click("#load-more")
    summary.filter(has_text=f"{MANY} of {MANY} runs").wait_for()
    assert page.locator("#runs tbody tr").count() == MANY
    assert page.locator("#load-more").count() == 0
    names = {r.split()[0] for r in page.locator("#runs tbody tr").all_inner_texts()}
    assert len(names) == MANY  # no run twice, none missing


def test_run_page_sections_and_artifact_previews(
    page: Any, seeded: Seeded, console: Console
) -> None:
    ids = seeded.ids
    # Chromium reports the sandbox refusing the HTML artifact's script: that is the point.
    blocked = "Blocked script execution in 'about:srcdoc'"
    console.expect(blocked)
    page.goto(f"{seeded.url}/runs/{ids['train']}")
    page.locator("h1", has_text="train-best").wait_for()
    params = page.locator("[data-kv=params]")
    assert "saga" in params.inner_text()
    assert "0.93" in page.locator("[data-kv=metrics]").inner_text()
    # One chart per metric (and one for the system metric), drawn on canvas.
    page.locator("#charts .chart[data-metric=loss] canvas").wait_for()
    page.locator("#charts .chart[data-metric=auc] canvas").wait_for()
    page.locator("#system .chart[data-metric='system/cpu_percent'] canvas").wait_for()
    # The 5,000-point loss history arrives downsampled.
    loss = requests.get(
        f"{seeded.url}/api/v1/runs/{ids['train']}/metrics/history",
        params={"key": "loss", "max_points": 1000},
    ).json()
    assert 900 <= len(loss["steps"]) <= 1000
    page.locator(".segmented button", has_text="Time").first.click()
    page.locator("#charts .chart[data-metric=loss] canvas").wait_for()
    # Inputs, model versions, links.
    datasets = page.locator("#datasets")
    datasets.wait_for()
    assert "churn-train" in datasets.inner_text()
    assert "input" in datasets.inner_text()
    versions = page.locator("#model-versions")
    assert "churn-classifier" in versions.inner_text()
    assert "v1" in versions.inner_text()
    assert page.locator(".crumbs a", has_text="churn-model").count() == 1
    shot(page, "3-run")

    tree = page.locator("#artifact-tree")
    preview = page.locator("#artifact-preview")

    def open_file(path: str) -> Any:
        folder = path.rpartition("/")[0]
        if folder and tree.locator(f"button[data-path='{path}']").count() == 0:
            tree.locator(f"button[data-path='{folder}']").click()
        tree.locator(f"button[data-path='{path}']").click()
        body = preview.locator(".preview-body")
        body.wait_for()
        return body

    assert "all good" in open_file("notes.txt").locator("pre").inner_text()
    json_text = open_file("config.json").locator("pre").inner_text()
    assert '"layers": [\n    64,' in json_text  # pretty-printed
    assert "solver: saga" in open_file("params.yaml").locator("pre").inner_text()
    csv = open_file("eval/predictions.csv")
    assert csv.locator("th").all_inner_texts() == ["id", "score", "label"]
    assert csv.locator("tbody tr").count() == 3
    image = open_file("eval/roc.png").locator("img")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert image.evaluate("img => img.naturalWidth") == 96
    html = open_file("eval/report.html").locator("iframe")
    assert html.get_attribute("sandbox") == ""
    frame = html.content_frame
    assert frame.locator("#report-title").inner_text() == "Evaluation report"
    shot(page, "3-run-html-preview")
    # Its script did not run: neither inside the frame nor against this page.
    assert "SCRIPT-RAN" not in frame.locator("body").inner_text()
    assert page.evaluate("document.body.dataset.pwned") is None
    assert any(blocked in e for e in console.errors)
    # The download link serves the file with a safe type, sandboxed by CSP.
    response = requests.get(
        f"{seeded.url}/api/v1/runs/{ids['train']}/artifacts/eval/report.html", timeout=10
    )
    assert "text/html" not in response.headers["content-type"]
    assert "sandbox" in response.headers["content-security-policy"]


def test_parent_run_page_lists_children(page: Any, seeded: Seeded) -> None:
    ids = seeded.ids
    page.goto(f"{seeded.url}/runs/{ids['sweep']}")
    children = page.locator("#child-runs")
    children.wait_for()
    assert children.locator("tbody tr").count() == 3
    children.get_by_role("link", name="alpha-0.5").click()
    page.wait_for_url(f"**/runs/{ids['best']}")
    # The child's breadcrumb leads back to its parent.
    assert page.locator(".crumbs a", has_text="sweep").get_attribute("href") == (
        f"/runs/{ids['sweep']}"
    )


def test_compare_page(page: Any, seeded: Seeded) -> None:
    ids = seeded.ids
    chosen = [*ids["children"], ids["failed"]]
    page.goto(f"{seeded.url}/compare?runs={','.join(chosen)}")
    params = page.locator("#compare-params")
    params.wait_for()
    assert params.locator("tr.differs[data-key=alpha]").count() == 1
    assert params.locator("tr.same[data-key=solver]").count() == 1
    page.locator("#compare-params-only-diff").check()
    assert params.locator("tr[data-key=solver]").is_hidden()
    chart = page.locator("#compare-charts .chart[data-metric=auc]")
    chart.locator("canvas").wait_for()
    # One legend entry per run that logged auc, plus the x axis.
    assert chart.locator(".u-legend .u-series").count() == len(chosen) + 1
    assert page.locator("#parallel polyline").count() == len(chosen)
    assert page.locator("#scatter circle").count() == len(chosen)
    page.get_by_label("scatter x").select_option("params:max_depth")
    assert "param max_depth" in page.locator("#scatter").inner_text()
    shot(page, "4-compare")


def test_user_data_is_shown_as_text_never_run(page: Any, seeded: Seeded) -> None:
    ids = seeded.ids
    page.goto(f"{seeded.url}/runs/{ids['xss']}")
    heading = page.locator("h1")
    heading.filter(has_text="onerror").wait_for()
    assert heading.inner_text() == XSS_NAME
    assert page.locator("main img").count() == 0
    assert XSS_PARAM in page.locator("[data-kv=params]").inner_text()
    assert "<b>not bold</b>" in page.locator("[data-kv=tags]").inner_text()
    page.goto(f"{seeded.url}/experiments/{ids['xss_experiment']}")
    page.locator("#runs").wait_for()
    assert page.locator("#runs .run-link").inner_text() == XSS_NAME
    assert page.locator("h1").inner_text() == "xss <b>bold</b>"
    page.goto(seeded.url + "/")
    page.get_by_role("link", name="xss <b>bold</b>").wait_for()
    assert page.locator("main b, main script, main img").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None
    # A dataset named with HTML: as text in the list, the heading and the graph's node.
    page.goto(seeded.url + "/data")
    page.get_by_role("link", name=XSS_NAME).click()
    page.locator("h1").filter(has_text="onerror").wait_for()
    assert page.locator("h1").inner_text() == XSS_NAME
    node = page.locator(".lineage-card")
    node.scroll_into_view_if_needed()
    page.locator("#lineage-graph .node-dataset title").wait_for(state="attached")
    assert XSS_NAME in page.locator("#lineage-graph .node-dataset title").text_content()
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None
    shot(page, "xss")


def test_unknown_experiment_run_model_dataset_are_404_pages(
    page: Any, seeded: Seeded, console: Console
) -> None:
    console.expect("404")
    response = page.goto(f"{seeded.url}/experiments/999")
    assert response.status == 404
    page.locator(".error-page h1", has_text="404").wait_for()
    assert "experiment '999' does not exist" in page.locator(".error-page").inner_text()
    shot(page, "404-experiment")
    response = page.goto(f"{seeded.url}/runs/{'f' * 32}")
    assert response.status == 404
    page.locator(".error-page", has_text="does not exist").wait_for()
    console.expect("400")
    response = page.goto(f"{seeded.url}/experiments/not-a-number")
    assert response.status == 400
    page.locator(".error-page h1", has_text="400").wait_for()
    response = page.goto(f"{seeded.url}/models/no-such-model")
    assert response.status == 404
    page.locator(".error-page", has_text="'no-such-model' does not exist").wait_for()
    response = page.goto(f"{seeded.url}/data/no-such-data")
    assert response.status == 404
    page.locator(".error-page", has_text="dataset 'no-such-data' does not exist").wait_for()


def test_models_page_lists_models(page: Any, seeded: Seeded) -> None:
    page.goto(seeded.url + "/models")
    table = page.locator("#models")
    table.wait_for()
    churn = table.locator("tr[data-model='churn-classifier']")
    assert "v2" in churn.inner_text()
    assert "@champion → v1" in churn.inner_text()
    assert "Predicts which customers leave." in churn.inner_text()
    assert "no versions" in table.locator("tr[data-model='fraud-detector']").inner_text()
    assert page.locator(".nav a.active").inner_text() == "Models"
    shot(page, "6-models")
    churn.get_by_role("link", name="churn-classifier").click()
    page.wait_for_url("**/models/churn-classifier")
    page.locator("#versions").wait_for()


def test_model_page_versions_data_lineage_history(page: Any, seeded: Seeded) -> None:
    ids = seeded.ids
    page.goto(f"{seeded.url}/models/churn-classifier?version=1")
    versions = page.locator("#versions")
    versions.wait_for()
    assert versions.locator("tbody tr").count() == 2
    v1 = versions.locator("tr[data-version='1']")
    assert v1.get_attribute("class") == "chosen"
    assert "Production" in v1.locator(".stage").inner_text()
    assert "@champion" in v1.locator(".aliases").inner_text()
    source = v1.get_by_role("link", name="train-best")
    assert source.get_attribute("href") == f"/runs/{ids['train']}"
    assert "alpha 0.5 from the sweep" in versions.locator("tr[data-version='2']").inner_text()
    # The data the source run read, linked to its dataset page.
    data = page.locator("#version-datasets")
    data.wait_for()
    link = data.get_by_role("link", name="churn-train")
    assert link.get_attribute("href") == "/data/churn-train"
    history = page.locator("#history").inner_text()
    for action in ("create_model", "create_version", "set_alias", "transition_stage"):
        assert action in history
    # The chain: prepare-data wrote the version train-best read, and v1 came from train-best.
    nodes = lineage_nodes(page)
    assert {
        "model:churn-classifier/1",
        f"run:{ids['train']}",
        f"dataset:{ids['prepare-data-output']}",
        f"run:{ids['prepare-data']}",
    } <= nodes
    edge = f"run:{ids['train']} registered model:churn-classifier/1"
    assert page.locator(f"#lineage-graph path[data-edge='{edge}']").count() == 1
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "6-model")
    page.locator(f"#lineage-graph a[data-node='run:{ids['prepare-data']}']").click()
    page.wait_for_url(f"**/runs/{ids['prepare-data']}")


def test_model_page_alias_and_stage_actions(page: Any, seeded: Seeded, console: Console) -> None:
    url = seeded.url
    page.goto(f"{url}/models/churn-classifier")
    v2 = page.locator("#versions tr[data-version='2']")
    v2.get_by_role("button", name="Set alias").click()
    page.get_by_label("Alias", exact=True).fill("challenger")
    page.locator("dialog button[type=submit]").click()
    page.locator("#versions tr[data-version='2'] .aliases", has_text="@challenger").wait_for()
    alias = requests.get(f"{url}/api/v1/registered-models/churn-classifier/aliases/challenger")
    assert alias.json()["version"] == 2

    # A reserved alias is refused with the server's message; the dialog stays open.
    console.expect("400")
    assert "latest" in refused_alias(page, 2, "latest", "reserved", "6-model-alias-refused")

    # v2 to Production, archiving v1 (which was there).
    page.locator("#versions tr[data-version='2']").get_by_role("button", name="Stage…").click()
    page.get_by_label("Stage", exact=True).select_option("Production")
    page.get_by_label("Archive the other versions in that stage").check()
    page.locator("dialog button[type=submit]").click()
    page.locator("#versions tr[data-version='1'] .stage", has_text="Archived").wait_for()
    assert "Production" in page.locator("#versions tr[data-version='2'] .stage").inner_text()
    found = requests.get(f"{url}/api/v1/registered-models/churn-classifier/versions/1").json()
    assert found["current_stage"] == "Archived"

    # Delete the alias from its chip.
    page.get_by_role("button", name="Delete alias challenger").click()
    page.locator("dialog button[type=submit]").click()
    page.locator("#versions .aliases", has_text="@challenger").wait_for(state="detached")
    gone = requests.get(f"{url}/api/v1/registered-models/churn-classifier/aliases/challenger")
    assert gone.status_code == 404
    assert "delete_alias" in page.locator("#history").inner_text()


def test_data_pages_list_versions_and_lineage(page: Any, seeded: Seeded) -> None:
    ids = seeded.ids
    page.goto(seeded.url + "/data")
    table = page.locator("#datasets-list")
    table.wait_for()
    train = table.locator("tr[data-name='churn-train']")
    assert train.locator("td").nth(1).inner_text() == "2"
    assert "prepare-data" in train.inner_text()
    assert table.locator("tr[data-name='churn-raw']").count() == 1
    shot(page, "5-data")
    train.get_by_role("link", name="churn-train").click()
    page.wait_for_url("**/data/churn-train")
    versions = page.locator("#dataset-versions tbody tr")
    versions.first.wait_for()
    assert versions.count() == 2
    newest = page.locator(f"tr[data-version-id='{ids['prepare-data-output']}']")
    assert newest.get_attribute("class") == "chosen"
    assert newest.locator(".written-by").inner_text() == "prepare-data"
    assert newest.locator(".read-by").inner_text() == "train-best"
    older = page.locator(f"tr[data-version-id='{ids['prepare-v0-output']}']")
    assert "no run yet" in older.locator(".read-by").inner_text()
    # Around the newest version: its writer read churn-raw; its reader made churn-classifier v1.
    nodes = lineage_nodes(page)
    assert {
        f"run:{ids['prepare-data']}",
        f"run:{ids['train']}",
        "model:churn-classifier/1",
    } <= nodes
    assert any(
        n.startswith("dataset:") and n != f"dataset:{ids['prepare-data-output']}" for n in nodes
    )
    focus = page.locator("#lineage-graph a.node.focus")
    assert focus.get_attribute("data-node") == f"dataset:{ids['prepare-data-output']}"
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "5-dataset")

    # The older version, chosen from the table.
    older.get_by_role("link").first.click()
    page.wait_for_url(f"**/data/churn-train?version={ids['prepare-v0-output']}")
    assert f"run:{ids['prepare-v0']}" in lineage_nodes(page)
    page.locator(f"#lineage-graph a[data-node='run:{ids['prepare-v0']}']").click()
    page.wait_for_url(f"**/runs/{ids['prepare-v0']}")


def test_run_page_links_data_models_and_lineage(page: Any, seeded: Seeded) -> None:
    ids = seeded.ids
    page.goto(f"{seeded.url}/runs/{ids['train']}")
    datasets = page.locator("#datasets")
    datasets.wait_for()
    assert datasets.get_by_role("link", name="churn-train").get_attribute("href") == (
        "/data/churn-train"
    )
    models = page.locator("#model-versions")
    assert models.get_by_role("link", name="churn-classifier").get_attribute("href") == (
        "/models/churn-classifier"
    )
    nodes = lineage_nodes(page)
    assert {f"run:{ids['train']}", f"dataset:{ids['prepare-data-output']}"} <= nodes
    assert datasets.locator("td", has_text="prepare-data").count() == 1  # created by
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "3-run-lineage")
    page.locator("#lineage-graph a[data-node='model:churn-classifier/1']").click()
    page.wait_for_url("**/models/churn-classifier?version=1")
    page.locator("#versions tr.chosen[data-version='1']").wait_for()

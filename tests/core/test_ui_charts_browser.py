"""Metric charts in a real browser: zooming into a downsampled history fetches that window's own
points from the server, and resetting the zoom brings the overview back.

Own module: the browser is module-scoped (see uibrowser.py), the seeded server session-scoped."""

# The fixtures are imported from uibrowser.py and named again as test parameters:
# ruff: noqa: F811
from __future__ import annotations

from typing import Any

import requests

from tests.core.serverfixtures import Server, flowtrack_server, use_server  # noqa: F401
from tests.core.uibrowser import Console, Seeded, browser, console, page, seeded, shot  # noqa: F401


def test_zooming_a_long_history_fetches_the_windows_detail(page: Any, seeded: Seeded) -> None:
    run_id = seeded.ids["train"]
    page.goto(f"{seeded.url}/runs/{run_id}")
    area = page.locator("#charts .chart[data-metric=loss] .chart-area")
    area.locator("canvas").wait_for()
    overview = int(area.get_attribute("data-points") or 0)
    assert 900 <= overview <= 1000  # 5,000 points, downsampled by the server

    over = area.locator(".u-over")
    box = over.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    with page.expect_request(lambda r: "min_step=" in r.url and "key=loss" in r.url) as asked:
        # Drag across 4% of the plot: about 200 of the 5,000 steps.
        page.mouse.move(box["x"] + box["width"] * 0.30, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.34, y, steps=5)
        page.mouse.up()
    assert "max_step=" in asked.value.url
    page.wait_for_function("el => el.dataset.detail", arg=area.element_handle())
    low, high = (int(v) for v in (area.get_attribute("data-detail") or "").split(":"))
    assert 0 < low < high < 4999 and high - low < 1000
    # Every step of the window is now drawn: the server sent them all, not a sample.
    window = requests.get(
        f"{seeded.url}/api/v1/runs/{run_id}/metrics/history",
        params={"key": "loss", "max_points": 1000, "min_step": low, "max_step": high},
        timeout=10,
    ).json()
    assert window["steps"] == list(range(low, high + 1))
    overview_in_window = requests.get(
        f"{seeded.url}/api/v1/runs/{run_id}/metrics/history",
        params={"key": "loss", "max_points": 1000},
        timeout=10,
    ).json()["steps"]
    hidden = sum(low <= s <= high for s in overview_in_window)
    assert int(area.get_attribute("data-points") or 0) == overview - hidden + (high - low + 1)
    shot(page, "3-run-chart-zoomed")

    # Double-click resets the zoom: the overview comes back.
    over.dblclick()
    page.wait_for_function("el => el.dataset.detail === ''", arg=area.element_handle())
    assert int(area.get_attribute("data-points") or 0) == overview


def test_short_histories_and_the_time_axis_never_refetch(page: Any, seeded: Seeded) -> None:
    run_id = seeded.ids["train"]
    windows: list[str] = []
    page.on("request", lambda r: "min_step=" in r.url and windows.append(r.url))
    page.goto(f"{seeded.url}/runs/{run_id}")
    cpu = page.locator("#system .chart[data-metric='system/cpu_percent'] .chart-area")
    cpu.locator("canvas").wait_for()
    assert cpu.get_attribute("data-points") == "20"  # whole: nothing to fetch on zoom
    box = cpu.locator(".u-over").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=5)
    page.mouse.up()
    page.locator(".segmented button", has_text="Time").first.click()
    loss = page.locator("#charts .chart[data-metric=loss] .chart-area")
    loss.locator("canvas").wait_for()
    box = loss.locator(".u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, y := box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, y, steps=5)
    page.mouse.up()
    page.wait_for_timeout(600)  # longer than the zoom debounce
    assert windows == []
    assert not loss.get_attribute("data-detail")


def test_a_running_runs_page_follows_it_until_it_ends(
    page: Any, use_server: Server, console: Console
) -> None:
    import flowtrack

    flowtrack.set_experiment("live-charts")
    run = flowtrack.start_run(run_name="still-training")
    try:
        for step in range(10):
            flowtrack.log_metric("loss", 1 / (step + 1), step=step)
        assert flowtrack.flush()
        page.add_init_script("window.flowtrackLiveMs = 300")
        page.goto(f"{use_server.url}/runs/{run.info.run_id}")
        page.locator(".page-head .badge", has_text="RUNNING").wait_for()
        area = page.locator("#charts .chart[data-metric=loss] .chart-area")
        area.locator("canvas").wait_for()
        assert area.get_attribute("data-points") == "10"

        for step in range(10, 25):
            flowtrack.log_metric("loss", 1 / (step + 1), step=step)
        assert flowtrack.flush()
        page.wait_for_function("el => el.dataset.points === '25'", arg=area.element_handle())
        # The table comes from the run, the chart from the history: read apart, both catch up.
        page.wait_for_function(
            "() => document.querySelector('[data-kv=metrics]').innerText.trim().endsWith('0.04')"
        )
        # A new metric draws the page anew, with its chart.
        flowtrack.log_metric("accuracy", 0.5, step=0)
        assert flowtrack.flush()
        page.locator("#charts .chart[data-metric=accuracy] canvas").wait_for()
    finally:
        flowtrack.end_run()
    assert flowtrack.flush()
    page.locator(".page-head .badge", has_text="FINISHED").wait_for()
    assert "—" not in page.locator(".facts dd").nth(4).inner_text()  # Ended is shown
    page.locator("#charts .chart[data-metric=loss] canvas").wait_for()
    shot(page, "3-run-followed-to-the-end")
    assert not console.unexpected()


def test_a_comment_being_written_is_never_redrawn_away(page: Any, use_server: Server) -> None:
    import flowtrack

    flowtrack.set_experiment("live-charts")
    run = flowtrack.start_run(run_name="discussed-while-running")
    try:
        flowtrack.log_metric("loss", 0.5, step=0)
        assert flowtrack.flush()
        page.add_init_script("window.flowtrackLiveMs = 300")
        page.goto(f"{use_server.url}/runs/{run.info.run_id}")
        box = page.locator("#discussion textarea")
        box.fill("half-written thought")
    finally:
        flowtrack.end_run()
    assert flowtrack.flush()
    page.locator("#run-changed").wait_for()
    assert box.input_value() == "half-written thought"
    assert page.locator(".page-head .badge").inner_text() == "RUNNING"
    page.locator("#run-changed button").click()
    page.locator(".page-head .badge", has_text="FINISHED").wait_for()

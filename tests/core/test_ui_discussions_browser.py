"""The Discussion panels in a real browser (Debian's chromium through Playwright): post a markdown
comment on a run and see it rendered, preview, reply, edit, delete; hostile markdown (raw HTML,
javascript: links) stays inert; the panels of a model version and a dataset version with their
count badges. The console must stay free of errors; screenshots go to test-artifacts/ui/.

Its own seeded store and server (comments change what the other browser tests would see), run
with --auth: the browser signs in as the admin "ana" (so comments have an author), and a second
user, "ben", with READ only, sees the discussion but cannot post or change ana's comments."""

# The fixtures are imported from uibrowser.py and named again as test parameters:
# ruff: noqa: F811
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.core.serverfixtures import running_server
from tests.core.uibrowser import (  # noqa: F401
    SHOTS,
    Console,
    Seeded,
    browser,
    console,
    open_page,
    seed_store,
)

pytestmark = pytest.mark.slow

REVIEW = """## Review
**Great** run: the loss *keeps* falling. See [the docs](https://example.com/docs) and `alpha=0.5`.

- tried `alpha=0.1`
- and 1.0

> Ship it?"""

HOSTILE = """<img src=x onerror="document.body.dataset.pwned='c1'">
<script>document.body.dataset.pwned='c2'</script>
[click me](javascript:document.body.dataset.pwned='c3') [again](JaVaScRiPt:alert(1))
[data](data:text/html,<b>x</b>) ![pic](javascript:alert(2))"""


ANA = ("ana", "ana password 123")
BEN = ("ben", "ben password 123")


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    folder = tmp_path_factory.mktemp("ui-discussions")
    ids = seed_store(folder)
    env = {"FLOWTRACK_ADMIN_USERNAME": ANA[0], "FLOWTRACK_ADMIN_PASSWORD": ANA[1]}
    with running_server(
        folder, backend=f"sqlite:///{ids['db']}", env=env, extra_args=("--auth",)
    ) as server:
        made = requests.post(
            f"{server.url}/api/v1/auth/users",
            auth=ANA,
            json={"name": BEN[0], "password": BEN[1]},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        yield Seeded(server, ids)


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    """A page signed in as ana (an admin)."""
    yield from open_page(browser, console, ANA)


@pytest.fixture
def ben_page(browser: Any, console: Console) -> Iterator[Any]:
    """A page signed in as ben (the server's default permission: READ)."""
    yield from open_page(browser, console, BEN)


def snap(locator: Any, name: str) -> Path:
    """A screenshot of one part of the page (the discussion is at the foot of a long page)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(path))
    return path


def _post(card: Any, text: str) -> None:
    box = card.locator("form.composer").last
    box.locator("textarea").fill(text)
    box.get_by_role("button", name="Comment").click()


def test_run_discussion_post_preview_reply_edit_delete(page: Any, talk: Seeded) -> None:
    run_id = talk.ids["train"]
    page.goto(f"{talk.url}/runs/{run_id}")
    card = page.locator("#discussion")
    card.get_by_text("No comments yet").wait_for()
    assert f'flowtrack runs comment {run_id} "text"' in card.inner_text()
    assert page.locator(".section-nav a[href='#discussion']").inner_text() == "Discussion"
    assert not card.locator(".badge.count").is_visible()
    snap(card, "discussion-1-empty")

    # Write, then preview: the preview is the rendered markdown.
    composer = card.locator("form.composer")
    assert composer.get_by_role("button", name="Comment").is_disabled()
    composer.locator("textarea").fill(REVIEW)
    composer.get_by_role("tab", name="Preview").click()
    assert not composer.locator("textarea").is_visible()
    preview = composer.locator(".comment-preview")
    assert preview.locator("strong").inner_text() == "Great"
    assert preview.locator("li").count() == 2
    snap(card, "discussion-2-preview")
    composer.get_by_role("button", name="Comment").click()

    comment = card.locator("article.comment").first
    comment.wait_for()
    body = comment.locator(".comment-body .markdown")
    assert body.locator("h4").inner_text() == "Review"
    assert body.locator("strong").inner_text() == "Great"
    assert body.locator("em").inner_text() == "keeps"
    link = body.get_by_role("link", name="the docs")
    assert link.get_attribute("href") == "https://example.com/docs"
    assert "noopener" in (link.get_attribute("rel") or "")
    assert link.get_attribute("target") == "_blank"
    assert body.locator("p code").inner_text() == "alpha=0.5"
    assert body.locator("li").count() == 2
    assert body.locator("blockquote").inner_text() == "Ship it?"
    # Relative time, the absolute time on hover.
    stamp = comment.locator("time")
    assert stamp.inner_text() == "just now"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", stamp.get_attribute("title") or "")
    assert comment.locator(".comment-author").inner_text() == "ana"  # who signed in
    page.locator(".section-nav a[href='#discussion']", has_text="Discussion (1)").wait_for()
    assert card.locator(".badge.count").inner_text() == "1 comment"
    # The composer is empty again, on its Write tab.
    assert composer.locator("textarea").input_value() == ""
    assert composer.locator("textarea").is_visible()

    # A reply goes under its thread.
    comment.get_by_role("button", name="Reply").click()
    reply_box = card.locator(".reply-box form.composer")
    reply_box.locator("textarea").fill("Agreed, **ship** it.")
    reply_box.get_by_role("button", name="Reply").click()
    reply = card.locator(".replies article.comment")
    reply.wait_for()
    assert reply.locator(".markdown strong").inner_text() == "ship"
    snap(card, "discussion-3-thread")

    # Edit: the author's text comes back in the box; the comment says it was edited.
    comment.get_by_role("button", name="Edit").first.click()
    editor = comment.locator(".comment-body textarea")
    assert editor.input_value() == REVIEW
    editor.fill("**Great** run. _Edited_ after the review.")
    comment.get_by_role("button", name="Save").click()
    card.locator("article.comment em", has_text="Edited").wait_for()
    first = card.locator("article.comment").first
    assert "edited" in first.locator(".comment-head").inner_text()
    snap(card, "discussion-3b-edited")

    # Delete the reply, then the first comment: with no reply left it goes entirely.
    reply.get_by_role("button", name="Delete").click()
    page.locator("dialog").get_by_role("button", name="Delete").click()
    reply.wait_for(state="detached")
    first.get_by_role("button", name="Delete").click()
    page.locator("dialog").get_by_role("button", name="Delete").click()
    card.get_by_text("No comments yet").wait_for()
    page.locator(
        ".section-nav a[href='#discussion']", has_text=re.compile(r"^Discussion$")
    ).wait_for()


def test_hostile_markdown_is_inert(page: Any, talk: Seeded) -> None:
    page.goto(f"{talk.url}/runs/{talk.ids['best']}")
    card = page.locator("#discussion")
    card.get_by_text("No comments yet").wait_for()
    _post(card, HOSTILE)
    body = card.locator("article.comment .markdown")
    body.wait_for()
    # Raw HTML shows as the characters typed: no element was made of it.
    text = body.inner_text()
    assert "<img src=x onerror=" in text and "<script>" in text
    assert body.locator("img, script, iframe").count() == 0
    # javascript: and data: links are plain text, not links; nothing is clickable to run script.
    assert body.locator("a").count() == 0
    unsafe = body.locator(".md-unsafe-link")
    assert unsafe.count() == 4
    unsafe.first.click()
    page.wait_for_timeout(200)
    assert page.evaluate("document.body.dataset.pwned") is None
    snap(card, "discussion-4-xss-inert")
    # A reply to it, deleting the comment it answers: the thread keeps a placeholder.
    card.get_by_role("button", name="Reply").click()
    card.locator(".reply-box textarea").fill("Please don't.")
    card.locator(".reply-box").get_by_role("button", name="Reply").click()
    card.locator(".replies article.comment").wait_for()
    card.locator("article.comment").first.get_by_role("button", name="Delete").click()
    page.locator("dialog").get_by_role("button", name="Delete").click()
    card.get_by_text("This comment was deleted.").wait_for()
    assert card.locator(".replies").inner_text().strip().endswith("Please don't.")
    assert page.evaluate("document.body.dataset.pwned") is None


def test_model_and_dataset_version_discussions_with_badges(page: Any, talk: Seeded) -> None:
    page.goto(f"{talk.url}/models/churn-classifier?version=1")
    card = page.locator("section.discussion")
    card.get_by_text("Discussion of v1").wait_for()
    card.get_by_text("No comments yet").wait_for()
    _post(card, "Promoted to **Production** after the A/B test.")
    card.locator("article.comment strong", has_text="Production").wait_for()
    page.reload()
    badge = page.locator("#versions tr[data-version='1'] .comments-badge")
    assert badge.inner_text().strip() == "1" and badge.get_attribute("title") == "1 comment"
    assert page.locator("#versions tr[data-version='2'] .comments-badge").count() == 0
    snap(page.locator("#versions"), "discussion-5-model-badges")
    snap(page.locator("section.discussion"), "discussion-6-model-version")

    page.goto(f"{talk.url}/data/churn-train")
    card = page.locator("section.discussion")
    card.get_by_text(re.compile("Discussion of version")).wait_for()
    _post(card, "Rows with `tenure = 0` were dropped in this version.")
    card.locator("article.comment code", has_text="tenure = 0").wait_for()
    page.reload()
    chosen = page.locator("#dataset-versions tr.chosen .comments-badge")
    assert chosen.inner_text().strip() == "1"
    snap(page.locator("main"), "discussion-7-dataset-version")


def test_a_reader_sees_the_discussion_but_cannot_post_or_change_it(
    ben_page: Any, talk: Seeded, console: Console
) -> None:
    run_id = talk.ids["failed"]
    posted = requests.post(
        f"{talk.url}/api/v1/runs/{run_id}/comments",
        auth=ANA,
        json={"body": "Diverged at step 3: *learning rate* too high."},
        timeout=30,
    )
    assert posted.status_code == 200, posted.text
    page = ben_page
    page.goto(f"{talk.url}/runs/{run_id}")
    card = page.locator("#discussion")
    comment = card.locator("article.comment")
    comment.locator("em", has_text="learning rate").wait_for()
    assert comment.locator(".comment-author").inner_text() == "ana"
    # Not his comment: no Edit or Delete; Reply is offered, and refused with the reason.
    assert comment.get_by_role("button", name="Edit").count() == 0
    assert comment.get_by_role("button", name="Delete").count() == 0
    console.expect("403")
    _post(card, "Me too")
    card.locator(".form-error", has_text="needs EDIT").wait_for()
    assert card.locator("article.comment").count() == 1
    snap(card, "discussion-8-reader-refused")

    # The runs table shows the count beside the run's name, linking to its discussion.
    page.goto(f"{talk.url}/experiments/{talk.ids['churn_experiment']}")
    badge = page.locator(f"tr[data-run-id='{run_id}'] .comments-badge")
    assert badge.inner_text().strip() == "1"
    assert badge.get_attribute("href") == f"/runs/{run_id}#discussion"
    assert page.locator(f"tr[data-run-id='{talk.ids['train']}'] .comments-badge").count() == 0
    snap(page.locator("#runs"), "discussion-9-runs-badge")

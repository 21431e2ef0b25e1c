"""Fixtures for the web UI's browser tests: one seeded server per session, and one chromium for
the browser tests' module.

Playwright drives Debian's chromium (/usr/bin/chromium, which scripts/test installs); it never
downloads a browser of its own. Each test gets a fresh browser context (cookies, storage) and a
page whose console errors fail the test. Screenshots go to test-artifacts/ui/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import missing
from tests.core.serverfixtures import Server, running_server

CHROMIUM = os.environ.get("FLOWTRACK_TEST_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "ui"
SEED = Path(__file__).with_name("uiseed.py")


@dataclass
class Seeded:
    server: Server
    ids: dict[str, Any]

    @property
    def url(self) -> str:
        return self.server.url


@dataclass
class Console:
    """Console errors and uncaught exceptions of a page; `expect` lets a test allow some."""

    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def expect(self, fragment: str) -> None:
        self.allowed.append(fragment)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


def seed_store(folder: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTRACK_")}
    env["FLOWTRACK_HOME"] = str(folder / "home")
    out = subprocess.run(
        [sys.executable, str(SEED), str(folder)],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    ids: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return ids


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    folder = tmp_path_factory.mktemp("ui-store")
    ids = seed_store(folder)
    with running_server(folder, backend=f"sqlite:///{ids['db']}") as server:
        yield Seeded(server, ids)


# Module-scoped (the browser tests are one module, so it is still started once): Playwright's
# sync API keeps its event loop marked as running in this thread until it stops, and libraries
# that check for a running loop (Prefect's sync-compatible calls) would misbehave in the tests
# that come after.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} is missing: ./scripts/test installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def console() -> Console:
    return Console()


def open_page(
    browser: Any, console: Console, credentials: tuple[str, str] | None = None
) -> Iterator[Any]:
    """A page in a fresh context (signed in with HTTP Basic ``credentials`` if given) whose
    console errors fail the test."""
    login = {"username": credentials[0], "password": credentials[1]} if credentials else None
    context = browser.new_context(viewport={"width": 1360, "height": 900}, http_credentials=login)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    opened.on("console", lambda m: m.type == "error" and console.errors.append(m.text))
    opened.on("pageerror", lambda e: console.errors.append(f"uncaught: {e}"))
    yield opened
    context.close()
    unexpected = console.unexpected()
    assert not unexpected, f"the page logged errors: {unexpected}"


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    yield from open_page(browser, console)


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def lineage_nodes(page: Any) -> set[str]:
    # The graph is fetched when its card scrolls into view.
    page.locator(".lineage-card").scroll_into_view_if_needed()
    graph = page.locator("#lineage-graph")
    graph.wait_for()
    return {n.get_attribute("data-node") for n in graph.locator("a.node").all()}


def refused_alias(page: Any, version: int, alias: str, expected: str, screenshot: str) -> str:
    """Set an alias from the model page that the server refuses: the dialog stays open with
    the server's message (which must hold ``expected``); its text."""
    row = page.locator(f"#versions tr[data-version='{version}']")
    row.get_by_role("button", name="Set alias").click()
    page.get_by_label("Alias", exact=True).fill(alias)
    page.locator("dialog button[type=submit]").click()
    error = page.locator("dialog .form-error")
    error.filter(has_text=expected).wait_for()
    text: str = error.inner_text()
    shot(page, screenshot)
    page.get_by_role("button", name="Cancel").click()
    return text

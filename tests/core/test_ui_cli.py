"""`flowtrack ui` serves the web UI on the store flowtrack itself uses, without a login, and
every file the pages load comes from the installed package (nothing from another site)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.core.serverfixtures import free_port


def test_flowtrack_ui_serves_the_pages_and_their_files(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTRACK_")}
    env.update(
        FLOWTRACK_HOME=str(tmp_path / "home"),
        FLOWTRACK_TRACKING_URI=f"sqlite:///{tmp_path / 'mine.db'}",
    )
    command = [sys.executable, "-c", "from flowtrack.cli.main import main; main()"]
    proc = subprocess.Popen(
        [*command, "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "flowtrack ui did not start"
            time.sleep(0.1)
        page = requests.get(url + "/", timeout=10)
        assert page.status_code == 200
        assert 'data-page="experiments"' in page.text
        # Every script and stylesheet is local, and served with a type a browser accepts.
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert all(a.startswith("/") for a in assets), assets
        kinds = {"js": "javascript", "css": "text/css", "svg": "image/svg+xml"}
        for asset in (a for a in assets if a.startswith("/ui/static/")):
            got = requests.get(url + asset, timeout=10)
            assert got.status_code == 200, asset
            assert kinds[asset.rsplit(".", 1)[1]] in got.headers["content-type"], asset
        modules = sorted(
            p.relative_to(p.parents[1]).as_posix()
            for p in Path(__file__)
            .parents[2]
            .joinpath("core/src/flowtrack/ui/static/js/pages")
            .glob("*.js")
        )
        assert modules, "no page modules found"
        for module in modules:
            assert requests.get(f"{url}/ui/static/js/{module}", timeout=10).status_code == 200
        # The embedded store of this user: the experiments endpoint answers from it.
        listed = requests.get(url + "/api/v1/ui/experiments", timeout=10).json()
        assert isinstance(listed["experiments"], list)
        assert (tmp_path / "mine.db").exists()
    finally:
        proc.terminate()
        proc.wait(20)

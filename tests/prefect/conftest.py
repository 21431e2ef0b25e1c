"""One Prefect server per test session, on a free loopback port, with its own PREFECT_HOME.

Starting it takes ~20 s on these machines, so every Prefect test shares it; each test still
gets its own flowtrack store (the autouse ``ft_home`` fixture). Prefect reads its settings
when it is imported, so the environment is set here, before any test module imports it.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import missing

if importlib.util.find_spec("prefect") is None:
    missing("prefect is not installed (requirements/dev.txt pins it)", module_level=True)

STARTUP_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prefect_env(home: Path, api_url: str) -> dict[str, str]:
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_MEMO_STORE_PATH": str(home / "memo_store.toml"),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(STARTUP_TIMEOUT_S),
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        "PREFECT_UI_URL": api_url.removesuffix("/api"),
    }


HOME = Path(tempfile.mkdtemp(prefix="flowtrack-prefect-"))
atexit.register(shutil.rmtree, HOME, True)  # also when no test started the server
PORT = _free_port()
API_URL = f"http://127.0.0.1:{PORT}/api"
os.environ.update(prefect_env(HOME, API_URL))


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """The API URL of a `prefect server start` shared by the session."""
    home, port, api_url, env = HOME, PORT, API_URL, prefect_env(HOME, API_URL)
    log_path = home / "server.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-ui",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prefect server exited: {log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{api_url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prefect server not healthy after {STARTUP_TIMEOUT_S}s")
            time.sleep(0.5)
        yield api_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

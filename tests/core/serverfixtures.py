"""Real flowtrack server processes for tests (``flowtrack server`` under uvicorn, free port).

Fixtures (import them into a test module to use them)::

    from tests.core.serverfixtures import flowtrack_server, use_server  # noqa: F401

* ``flowtrack_server`` (session): one server on an SQLite file with a local artifact folder,
  shared by every module that imports it; tests use fresh experiment names.
* ``use_server`` (function): points this test's process at ``flowtrack_server``
  (``FLOWTRACK_TRACKING_URI=http://127.0.0.1:<port>``) and returns it.

For a server of your own (another backend, S3, one to kill): ``start_server(folder, ...)``
returns a `Server` with ``url``, ``stop()``, ``kill()`` (SIGKILL) and ``start()`` (again, on
the same port).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

STARTUP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    folder: Path
    backend: str
    artifacts: str
    port: int
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    extra_args: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / f"server-{self.port}.log"

    def start(self, wait: bool = True) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWTRACK_")}
        env.update(FLOWTRACK_HOME=str(self.folder / "server-home"), **self.env)
        args = [
            sys.executable,
            "-c",
            "from flowtrack.cli.main import main; main()",
            "server",
            "--backend-store-uri",
            self.backend,
            "--artifacts-destination",
            self.artifacts,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            *self.extra_args,
        ]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(args, env=env, stdout=log, stderr=log)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log.read_text()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the server did not start in {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash: no graceful shutdown (workers die with their parent's group
        only after it, so they are killed too)."""
        if self.proc is not None and self.proc.poll() is None:
            _kill_children(self.proc.pid)
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


def _kill_children(pid: int) -> None:
    # uvicorn with --workers N: the workers are children of the process we started.
    try:
        out = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
        ).stdout
    except FileNotFoundError:
        return
    for child in out.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(child), signal.SIGKILL)


def start_server(
    folder: Path,
    backend: str | None = None,
    artifacts: str | None = None,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
    wait: bool = True,
) -> Server:
    """A server on ``backend`` (default: an SQLite file in ``folder``) keeping artifacts in
    ``artifacts`` (default: a folder in ``folder``)."""
    folder.mkdir(parents=True, exist_ok=True)
    server = Server(
        folder=folder,
        backend=backend or f"sqlite:///{folder / 'server.db'}",
        artifacts=artifacts or str(folder / "server-artifacts"),
        port=port or free_port(),
        workers=workers,
        env=env or {},
        extra_args=extra_args,
    )
    return server.start(wait=wait)


@contextlib.contextmanager
def running_server(folder: Path, **kwargs: object) -> Iterator[Server]:
    server = start_server(folder, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def flowtrack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the session: SQLite backend, local artifact folder."""
    with running_server(tmp_path_factory.mktemp("flowtrack-server")) as server:
        yield server


@pytest.fixture
def use_server(flowtrack_server: Server, monkeypatch: pytest.MonkeyPatch) -> Server:
    """This test's flowtrack calls go to ``flowtrack_server``."""
    monkeypatch.setenv("FLOWTRACK_TRACKING_URI", flowtrack_server.url)
    return flowtrack_server

"""A real Airflow deployment for tests: scheduler (LocalExecutor), api-server, dag-processor.

Each component is its own process, as in production: the scheduler fires the DAG-run hooks and
reports executor failures, the LocalExecutor's workers supervise the task processes (which fire
the task hooks), the api-server serves the execution API those task processes call (and fires
the asset hooks), the dag-processor parses the DAGs. Airflow's metadata database is a throwaway
PostgreSQL database (several processes write it at once); flowtrack's store is another.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COMPONENTS = {
    "api-server": ["api-server", "--host", "127.0.0.1", "--workers", "1"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
}
FINAL_STATES = ("success", "failed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def airflow_env(home: Path, database_uri: str, port: int, extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without its Airflow and flowtrack settings, plus the
    stack's: every component reads the same ones."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "FLOWTRACK_"))}
    return {
        **base,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # LocalExecutor forks this many workers up front; the tests run a handful of tasks.
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_uri,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        # Shared by the api-server (which checks the task processes' tokens) and the scheduler
        # (which issues them); a fresh one per stack, never a default.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
        # Parsed once: a DAG file re-parsed every few seconds only costs the shared CPUs.
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        **extra,
    }


@dataclass
class Stack:
    """The running components; ``stop`` ends them (and only them)."""

    home: Path
    env: dict[str, str]
    port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def airflow(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        """An Airflow CLI command against this stack's database."""
        return subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        for name, args in COMPONENTS.items():
            log = (self.home / f"{name}.log").open("wb")
            # Its own session: stop() signals the component and the processes it forked (the
            # LocalExecutor's workers, uvicorn's), and nothing else.
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "airflow", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()

    def log(self, name: str) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self, tail: int = 6000) -> str:
        """Each component's log (its end), for a failure message."""
        parts = [f"--- {name} ---\n{self.log(name)[-tail:]}" for name in COMPONENTS]
        task_logs = sorted((self.home / "logs").rglob("*.log"))
        parts += [f"--- {p.relative_to(self.home)} ---\n{p.read_text()[-2000:]}" for p in task_logs]
        return "\n".join(parts)

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
        if dead:
            raise AssertionError(f"Airflow components exited: {dead}\n{self.logs()}")

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}/api/v2/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def wait(self, what: str, probe: Any, timeout: float) -> Any:
        """Poll ``probe`` until it returns something truthy; fail with the logs after
        ``timeout`` seconds or when a component died."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            try:
                found = probe()
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                found = None
            if found:
                return found
            if time.monotonic() > deadline:
                waited = f"timed out after {timeout:.0f} s waiting for {what}"
                raise AssertionError(f"{waited}\n{self.logs()}")
            time.sleep(0.5)

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        found = self.request(
            "POST", f"dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}}
        )
        return str(found["dag_run_id"])

    def dag_run_state(self, dag_id: str, run_id: str) -> str:
        found = self.request("GET", f"dags/{dag_id}/dagRuns/{run_id}")
        return str(found["state"])

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def make_home(root: Path, dag_files: list[Path], plugin_files: list[Path]) -> Path:
    """An AIRFLOW_HOME with only these DAG files and plugins (the dag-processor parses all)."""
    home = root / "airflow"
    for folder, files in (("dags", dag_files), ("plugins", plugin_files)):
        (home / folder).mkdir(parents=True)
        for path in files:
            shutil.copy(path, home / folder / path.name)
    return home

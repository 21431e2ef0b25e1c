"""`flowtrack models serve` against `mlflow models serve` on the same model; prints req/s.

Run it through ``./benchmarks/run-serve`` (which builds .venv-bench with MLflow pinned and
installs wrk):

    ./benchmarks/run-serve                  # --scale full, about 4 minutes
    ./benchmarks/run-serve --scale small    # a smoke run, about a minute

One scikit-learn LogisticRegression on 4 float columns is saved in both formats
(``flowtrack.models.save_model`` and ``mlflow.sklearn.save_model``, each with its signature
inferred from the same input example), each served on a loopback port with 1 worker, and
wrk sends the same ``dataframe_split`` body (1 row, then 100 rows) from 10 connections for a
fixed time. Both servers must give the model's own predictions before anything is timed.
Nothing asserts on time; only wrong predictions or non-2xx answers fail the run. Results also
go to benchmarks/results/serve-latest.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "serve-latest.json"
BIN = Path(sys.executable).parent
SIZES = {
    "full": {"seconds": 10, "warmup": 2, "rounds": 3},
    "small": {"seconds": 3, "warmup": 1, "rounds": 1},
}
CONNECTIONS = 10
BODY_ROWS = (1, 100)
COLUMNS = ["f0", "f1", "f2", "f3"]
LUA = """
local f = io.open(os.getenv("BODY_FILE"), "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
"""


@dataclass
class Server:
    label: str
    argv: list[str]
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    raw: str = field(repr=False, default="")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env(tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLOWTRACK_", "MLFLOW_")) and k != "VIRTUAL_ENV"
    }
    # MLflow's serve command execs `uvicorn` from PATH: this venv's.
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["FLOWTRACK_HOME"] = str(tmp / "flowtrack-home")
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "true"
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _models(tmp: Path) -> tuple[Any, Any, Path, Path]:
    """The same fitted estimator saved by each tool; returns (clf, X, flowtrack dir, mlflow dir)."""
    import warnings

    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(500, 4)), columns=COLUMNS)
    y = (X["f0"] + 0.5 * X["f1"] - X["f3"] > 0).astype("int64")
    clf = LogisticRegression().fit(X, y)

    import flowtrack.models
    import mlflow.sklearn

    ft_dir, ml_dir = tmp / "flowtrack-model", tmp / "mlflow-model"
    flowtrack.models.save_model(clf, ft_dir, input_example=X[:5])
    mlflow.sklearn.save_model(clf, str(ml_dir), input_example=X[:5])
    return clf, X, ft_dir, ml_dir


def _start(server: Server, tmp: Path) -> None:
    server.log = tmp / f"{server.label.replace(' ', '-')}.log"
    with server.log.open("wb") as log:
        # A session of its own: MLflow's command runs uvicorn as a child, stopped with it.
        server.process = subprocess.Popen(
            server.argv,
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.label} exited:\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + "/ping", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    _stop(server)
    raise SystemExit(f"{server.label} did not answer /ping in 180 s")


def _stop(server: Server) -> None:
    if server.process is None or server.process.poll() is not None:
        return
    os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()


def _predict(server: Server, body: bytes) -> list[Any]:
    req = urllib.request.Request(
        server.url + "/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return list(json.loads(r.read())["predictions"])


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def _wrk(url: str, body_file: Path, lua: Path, seconds: int) -> Load:
    done = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(lua), url],
        env={**os.environ, "BODY_FILE": str(body_file)},
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    out = done.stdout
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    errors += sum(int(g) for g in sock.groups()) if sock else 0
    return Load(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(pct["50"]),
        p99_ms=_ms(pct["99"]),
        requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        errors=errors,
        raw=out,
    )


def _median(loads: list[Load]) -> Load:
    """The round with the median throughput (its latencies come with it)."""
    return sorted(loads, key=lambda x: x.rps)[len(loads) // 2]


def _ratio(results: dict[str, dict[int, list[Load]]], rows: int, a: str, b: str) -> str:
    """The median over rounds of a's req/s over b's in the same round (paired, so a change of
    the machine's load between rounds does not count as a difference between the tools)."""
    pairs = zip(results[a][rows], results[b][rows], strict=True)
    return f"{statistics.median(x.rps / y.rps for x, y in pairs):.2f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SIZES), default="full")
    args = parser.parse_args(argv)
    size = SIZES[args.scale]
    if shutil.which("wrk") is None:
        raise SystemExit(
            "wrk is not installed: apt-get install -y wrk (./benchmarks/run-serve does)"
        )
    tmp = Path(tempfile.mkdtemp(prefix="flowtrack-bench-serve-")).resolve()
    env = _clean_env(tmp)
    os.environ.update({k: env[k] for k in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK")})
    print(f"flowtrack vs MLflow model serving, scale {args.scale}", flush=True)
    clf, X, ft_dir, ml_dir = _models(tmp)
    lua = tmp / "post.lua"
    lua.write_text(LUA)
    bodies: dict[int, Path] = {}
    for rows in BODY_ROWS:
        split = {"columns": COLUMNS, "data": X[:rows].to_numpy().tolist()}
        bodies[rows] = tmp / f"body-{rows}.json"
        bodies[rows].write_text(json.dumps({"dataframe_split": split}))
    ml_path_env = {**env, "__pyfunc_model_path__": ml_dir.as_uri()}
    servers = [
        Server(
            "flowtrack",
            [
                str(BIN / "flowtrack"),
                "models",
                "serve",
                str(ft_dir),
                "--port",
                "{port}",
                "--workers",
                "1",
            ],
            env,
            0,
        ),
        Server(
            "mlflow",
            [
                str(BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                str(ml_dir),
                "--env-manager",
                "local",
                "-p",
                "{port}",
                "-w",
                "1",
            ],
            env,
            0,
        ),
        # For information: each tool with the other's access-log default (MLflow's command
        # has no switch for it, so its app is run by uvicorn directly, as that command does).
        Server(
            "flowtrack --access-log",
            [
                str(BIN / "flowtrack"),
                "models",
                "serve",
                str(ft_dir),
                "--port",
                "{port}",
                "--access-log",
            ],
            env,
            0,
        ),
        Server(
            "mlflow, no access log",
            [
                str(BIN / "uvicorn"),
                "--host",
                "127.0.0.1",
                "--port",
                "{port}",
                "--workers",
                "1",
                "--no-access-log",
                "mlflow.pyfunc.scoring_server.app:app",
            ],
            ml_path_env,
            0,
        ),
    ]
    results: dict[str, dict[int, list[Load]]] = {
        s.label: {r: [] for r in BODY_ROWS} for s in servers
    }
    expected = clf.predict(X[:100]).tolist()
    try:
        for server in servers:
            server.port = _free_port()
            server.argv = [a.replace("{port}", str(server.port)) for a in server.argv]
            _start(server, tmp)
            got = _predict(server, bodies[100].read_bytes())
            if got != expected:
                raise SystemExit(
                    f"{server.label} predicted {got[:10]}..., expected {expected[:10]}..."
                )
        print(
            f"all {len(servers)} servers predict the model's {len(expected)} values; timing "
            f"{len(BODY_ROWS)} bodies x {size['rounds']} rounds of {size['seconds']} s each",
            flush=True,
        )
        # All servers stay up (an idle one costs no CPU) and take turns on each body, so the
        # two tools' figures of a round are taken seconds apart: the machine is shared, and
        # its load drifts over minutes.
        for round_ in range(size["rounds"]):
            for rows in BODY_ROWS:
                for server in servers:
                    url = server.url + "/invocations"
                    _wrk(url, bodies[rows], lua, size["warmup"])
                    load = _wrk(url, bodies[rows], lua, size["seconds"])
                    if load.errors:
                        raise SystemExit(f"{server.label}: {load.errors} errors\n{load.raw}")
                    results[server.label][rows].append(load)
                    print(
                        f"  round {round_ + 1} {server.label:<24} {rows:>3} rows: "
                        f"{load.rps:8.1f} req/s  p50 {load.p50_ms:6.2f} ms  "
                        f"p99 {load.p99_ms:6.2f} ms",
                        flush=True,
                    )
    finally:
        for server in servers:
            _stop(server)
    _report(results, size, args.scale)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _report(results: dict[str, dict[int, list[Load]]], size: dict[str, int], scale: str) -> None:
    from importlib.metadata import version

    versions = {
        p: version(p) for p in ("flowtrack", "mlflow", "fastapi", "uvicorn", "scikit-learn")
    }
    versions["python"] = platform.python_version()
    head = ("body", "figure", "flowtrack", f"MLflow {versions['mlflow']}", "ratio")
    lines = []
    for rows in BODY_ROWS:
        ft, ml = _median(results["flowtrack"][rows]), _median(results["mlflow"][rows])
        ft_log = _median(results["flowtrack --access-log"][rows])
        ml_quiet = _median(results["mlflow, no access log"][rows])
        body = f"{rows} row{'s' if rows > 1 else ''}"
        lines += [
            (
                body,
                "req/s (defaults)",
                f"{ft.rps:,.0f}",
                f"{ml.rps:,.0f}",
                _ratio(results, rows, "flowtrack", "mlflow"),
            ),
            (
                body,
                "p50 / p99 latency",
                f"{ft.p50_ms:.1f} / {ft.p99_ms:.1f} ms",
                f"{ml.p50_ms:.1f} / {ml.p99_ms:.1f} ms",
                "",
            ),
            (
                body,
                "req/s, both access logs on",
                f"{ft_log.rps:,.0f}",
                f"{ml.rps:,.0f}",
                _ratio(results, rows, "flowtrack --access-log", "mlflow"),
            ),
            (
                body,
                "req/s, both access logs off",
                f"{ft.rps:,.0f}",
                f"{ml_quiet.rps:,.0f}",
                _ratio(results, rows, "flowtrack", "mlflow, no access log"),
            ),
        ]
    widths = [max(len(x[i]) for x in [head, *lines]) for i in range(len(head))]

    def fmt(cells: tuple[str, ...]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    print()
    print("\n".join([fmt(head), "-+-".join("-" * w for w in widths), *(fmt(x) for x in lines)]))
    print(
        f"\n(wrk, {CONNECTIONS} connections, 1 worker each; req/s and latencies: the round with "
        f"the median req/s of {size['rounds']} rounds of {size['seconds']} s; ratio: median over "
        "the rounds of flowtrack / MLflow in the same round; target >= 1)"
    )
    report = {
        "scale": scale,
        "sizes": size,
        "connections": CONNECTIONS,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load": os.getloadavg(),
        },
        "versions": versions,
        "runs": {
            label: {
                str(rows): [asdict(x) | {"raw": x.raw} for x in loads]
                for rows, loads in by_rows.items()
            }
            for label, by_rows in results.items()
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {RESULTS}")


if __name__ == "__main__":
    sys.exit(main())

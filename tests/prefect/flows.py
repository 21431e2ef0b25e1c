"""Flows the Prefect tests run (a module, so that served flows load it by entrypoint)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import flowtrack
from flowtrack_prefect import tracked
from prefect import flow, task

calls: list[str] = []  # user hooks that ran, in order
raised: list[BaseException] = []


def user_hook(flow: Any, flow_run: Any, state: Any) -> None:
    calls.append(f"user:{state.name}")


@task
def load(path: str) -> list[float]:
    text = Path(path).read_text()
    flowtrack.log_metric("rows", len(text.splitlines()))
    return [float(x) for x in text.split()]


@task
def scale(values: list[float], factor: float) -> list[float]:
    return [v * factor for v in values]


@task
def total(values: list[float]) -> float:
    flowtrack.log_metric("total", sum(values))
    return sum(values)


@flow(on_completion=[user_hook])
def three_tasks(path: str, factor: float = 2.0, config: dict[str, Any] | None = None) -> float:
    return total(scale(load(path), factor))


tracked_three = tracked(three_tasks, experiment="prefect-tests", version_outputs=True)


attempts: list[int] = []


@task(retries=2, retry_delay_seconds=0)
def flaky() -> None:
    attempts.append(1)
    raise ValueError(f"flaky failed on attempt {len(attempts)}")


@tracked(experiment="prefect-tests")
@flow
def failing() -> None:
    flaky()


@flow
def child(x: int) -> int:
    flowtrack.log_metric("child_x", x)
    return x + 1


@tracked(experiment="prefect-tests")
@flow
def parent() -> int:
    return child(1) + child(2)


@task
def square(x: int) -> int:
    return x * x


@tracked(experiment="prefect-tests")
@flow
def mapped() -> list[int]:
    return [f.result() for f in square.map([1, 2, 3])]


@task
async def slow_double(x: int) -> int:
    await asyncio.sleep(0.01)
    flowtrack.log_metric("x", x)
    return 2 * x


@tracked(experiment="prefect-tests")
@flow
async def async_flow(n: int = 3) -> int:
    values = await asyncio.gather(*[slow_double(i) for i in range(n)])
    return sum(values)


class Opaque:
    """No serializer handles it."""


@task
def make_opaque() -> Opaque:
    return Opaque()


@tracked(experiment="prefect-tests", version_outputs=True)
@flow
def opaque_flow() -> str:
    return type(make_opaque()).__name__


class BoomError(RuntimeError):
    pass


@tracked(experiment="prefect-tests")
@flow
def raising(message: str = "boom") -> None:
    error = BoomError(message)
    raised.append(error)
    raise error


@task
def fit(n: int) -> Any:
    from sklearn.linear_model import LinearRegression

    xs = [[float(i)] for i in range(n)]
    return LinearRegression().fit(xs, [2.0 * i + 1 for i in range(n)])


@tracked(experiment="prefect-tests", register_model="prefect-model")
@flow
def train(n: int = 10) -> Any:
    return fit(n)


@tracked(experiment="prefect-served")
@flow
def served(x: int = 1) -> int:
    flowtrack.log_metric("served_x", x)
    return square(x)


@task
def nap(seconds: float) -> None:
    import time

    time.sleep(seconds)


@tracked(experiment="prefect-served")
@flow
def sleepy(seconds: float = 120.0) -> None:
    nap(seconds)


@task
def write_table(folder: str) -> Path:
    out = Path(folder) / "table.txt"
    out.write_text("a\n1\n2\n")
    return out


@task
def read_table(path: Path) -> Any:
    import pandas as pd

    return pd.read_csv(path)


@task
def to_array(frame: Any) -> Any:
    return frame["a"].to_numpy()


@tracked(experiment="prefect-tests", version_outputs=True)
@flow
def lineage(folder: str) -> int:
    return int(to_array(read_table(write_table(folder))).sum())


class AbortError(BaseException):
    """Not an Exception: Prefect reports the task and flow run as Crashed."""


@task
def aborting() -> None:
    raise AbortError("stopped from outside")


@tracked(experiment="prefect-tests")
@flow
def crashing() -> None:
    aborting()

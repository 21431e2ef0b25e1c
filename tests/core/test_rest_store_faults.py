"""The foundation's guarantees over REST, with real server processes: a run logged while the
server is down arrives complete when it is back (in the same process, or through the journal a
finished process left); a server killed with SIGKILL and restarted in the middle of a run loses
nothing and duplicates nothing."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import flowtrack
import flowtrack.testing
import pytest
from click.testing import CliRunner
from flowtrack.cli.main import cli

from tests.core.faults import run_python
from tests.core.serverfixtures import Server, free_port

pytestmark = pytest.mark.slow


def _server_not_started(folder: Path) -> Server:
    folder.mkdir(parents=True, exist_ok=True)
    return Server(
        folder=folder,
        backend=f"sqlite:///{folder / 'server.db'}",
        artifacts=str(folder / "artifacts"),
        port=free_port(),
    )


def _journals(home: Path) -> list[Path]:
    return list((home / "spool").glob("*/*.journal"))


def test_a_run_logged_while_the_server_is_down_arrives_when_it_is_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = _server_not_started(tmp_path / "server")
    monkeypatch.setenv("FLOWTRACK_TRACKING_URI", server.url)
    monkeypatch.setenv("FLOWTRACK_FLUSH_TIMEOUT", "2")
    try:
        with caplog.at_level(logging.WARNING, logger="flowtrack"):
            flowtrack.set_experiment("outage")  # the server is down: remembered, made later
            started = time.monotonic()
            with flowtrack.start_run(run_name="while-down") as run:
                flowtrack.log_params({"alpha": 0.5, "layers": 3})
                for step in range(2_000):
                    flowtrack.log_metric("loss", 1 / (step + 1), step=step)
                flowtrack.set_tag("t", "v")
                with flowtrack.start_run(run_name="child", nested=True) as child:
                    flowtrack.log_metric("auc", 0.9)
            assert time.monotonic() - started < 30  # the task never waited long for it
            assert not flowtrack.flush(timeout=1)
        assert "unreachable" in caplog.text

        server.start()
        assert flowtrack.flush(timeout=30)
        client = flowtrack.Client()
        got = client.get_run(run.info.run_id)
        assert (got.info.status, got.info.run_name) == ("FINISHED", "while-down")
        assert client.get_experiment(got.info.experiment_id).name == "outage"
        assert got.data.params == {"alpha": "0.5", "layers": "3"}
        assert got.data.tags["t"] == "v"
        assert len(client.get_metric_history(run.info.run_id, "loss")) == 2_000
        assert [r.info.run_id for r in client.get_children(run.info.run_id)] == [child.info.run_id]
    finally:
        server.stop()


def test_a_process_that_ended_while_the_server_was_down_is_delivered_by_sync(
    tmp_path: Path, ft_home: Path
) -> None:
    server = _server_not_started(tmp_path / "server")
    done = run_python(
        """
        import flowtrack
        flowtrack.set_experiment("left-behind")
        with flowtrack.start_run(run_name="offline") as run:
            flowtrack.log_param("p", "1")
            for step in range(300):
                flowtrack.log_metric("m", float(step), step=step)
        print(run.info.run_id)
        """,
        {
            "FLOWTRACK_TRACKING_URI": server.url,
            "FLOWTRACK_HOME": str(ft_home),
            "FLOWTRACK_FLUSH_TIMEOUT": "1",
        },
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    assert len(_journals(ft_home)) == 1

    server.start()
    try:
        out = CliRunner().invoke(cli, ["sync"])
        assert out.exit_code == 0, out.output
        assert "delivered 1" in out.output
        assert _journals(ft_home) == []
        client = flowtrack.Client(server.url)
        got = client.get_run(run_id)
        assert (got.info.status, got.data.params) == ("FINISHED", {"p": "1"})
        assert [m.value for m in client.get_metric_history(run_id, "m")] == [
            float(s) for s in range(300)
        ]
    finally:
        server.stop()


def test_a_server_killed_and_restarted_during_a_run_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _server_not_started(tmp_path / "server").start()
    monkeypatch.setenv("FLOWTRACK_TRACKING_URI", server.url)
    monkeypatch.setenv("FLOWTRACK_FLUSH_TIMEOUT", "1")
    progress = {"step": 0}
    outages: list[int] = []

    def crash_and_restart() -> None:
        # Twice: SIGKILL while the run is logging and delivering, back a moment later.
        for at in (1_000, 3_000):
            while progress["step"] < at:
                time.sleep(0.005)
            server.kill()
            outages.append(progress["step"])
            time.sleep(1.0)
            server.start()

    try:
        flowtrack.set_experiment("crashes")
        chaos = threading.Thread(target=crash_and_restart)
        chaos.start()
        step = 0
        with flowtrack.start_run(run_name="survivor") as run:
            flowtrack.log_param("p", "x")
            # The run goes on through both crashes, and a while after.
            while chaos.is_alive() or step < 5_000:
                flowtrack.log_metrics({"a": float(step), "b": -float(step)}, step=step)
                progress["step"] = step
                step += 1
                if step % 20 == 0:
                    time.sleep(0.002)
        steps = step
        chaos.join(60)
        assert len(outages) == 2 and outages[1] < steps - 100
        assert flowtrack.flush(timeout=60)
        client = flowtrack.Client()
        got = client.get_run(run.info.run_id)
        assert got.info.status == "FINISHED"
        assert got.data.metrics == {"a": steps - 1.0, "b": -(steps - 1.0)}
        history = client.get_metric_history(run.info.run_id, "a")
        # Every point once: the batches retried or replayed after a crash were applied once.
        assert sorted(m.step for m in history) == list(range(steps))
        assert len(client.get_metric_history(run.info.run_id, "b")) == steps
    finally:
        server.stop()

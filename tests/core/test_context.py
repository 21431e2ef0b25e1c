"""Run context across processes, and the tags that describe where a run happened."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import flowtrack


def _child(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # The environment is inherited as a user's subprocess would inherit it.
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_subprocess_logs_into_the_parent_run_with_no_setup() -> None:
    with flowtrack.start_run(run_name="parent") as run:
        assert os.environ["FLOWTRACK_RUN_ID"] == run.info.run_id
        done = _child(
            """
            import flowtrack
            flowtrack.log_metric("from_child", 7.0)
            flowtrack.log_param("child_param", "x")
            """
        )
        assert done.returncode == 0, done.stderr
    assert "FLOWTRACK_RUN_ID" not in os.environ  # restored when the run ended
    got = flowtrack.Client().get_run(run.info.run_id)
    assert got.data.metrics == {"from_child": 7.0}
    assert got.data.params == {"child_param": "x"}
    assert got.info.status == "FINISHED"


def test_subprocess_nested_run_is_a_child_and_does_not_end_the_parent() -> None:
    flowtrack.set_experiment("handover")
    with flowtrack.start_run(run_name="parent") as run:
        done = _child(
            """
            import flowtrack
            with flowtrack.start_run():          # attaches to the inherited run
                with flowtrack.start_run(run_name="child", nested=True) as child:
                    flowtrack.log_metric("auc", 0.9)
            print(child.info.run_id)
            """
        )
        assert done.returncode == 0, done.stderr
        assert flowtrack.Client().get_run(run.info.run_id).info.status == "RUNNING"
    child_id = done.stdout.strip()
    child = flowtrack.Client().get_run(child_id)
    assert child.info.parent_run_id == run.info.run_id
    assert child.data.metrics == {"auc": 0.9}
    assert flowtrack.Client().get_experiment(child.info.experiment_id).name == "handover"
    assert [c.info.run_id for c in flowtrack.Client().get_children(run.info.run_id)] == [child_id]


def test_a_process_handed_a_run_its_owner_has_not_recorded_yet_loses_nothing(
    ft_home: Path, tmp_path: Path
) -> None:
    """A pod started while the Kubernetes watcher was down, or a child process that outran
    its parent's writer: its events make a provisional run that the owner's create (here
    sent later, as the watcher would) completes. Nothing is refused."""
    import uuid

    from flowtrack.tracking.context import RunState
    from flowtrack.tracking.runs import create_event
    from flowtrack.tracking.stores import get_store

    run_id = uuid.uuid4().hex
    report = tmp_path / "report.txt"
    report.write_text("done")
    env = {**os.environ, "FLOWTRACK_RUN_ID": run_id, "FLOWTRACK_EXPERIMENT": "churn"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import flowtrack\n"
            "flowtrack.log_metric('loss', 0.25, step=3)\n"
            "flowtrack.log_param('alpha', '0.5')\n"
            f"flowtrack.log_artifact({str(report)!r})\n",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "not logged" not in done.stderr, done.stderr
    uri = flowtrack.get_tracking_uri()
    owner = RunState(run_id, uri, None, "churn", "train-churn", None, 1234, None)
    store = get_store(uri)
    assert list(store.apply_events([create_event(owner, "k8s", {"job": "train-churn"}, {})])) == []
    run = flowtrack.Client().get_run(run_id)
    assert (run.info.run_name, run.info.source_type, run.info.start_time) == (
        "train-churn",
        "k8s",
        1234,
    )
    assert run.data.metrics == {"loss": 0.25} and run.data.params == {"alpha": "0.5"}
    assert [a.path for a in flowtrack.Client().list_artifacts(run_id)] == ["report.txt"]
    assert flowtrack.Client().get_experiment(run.info.experiment_id).name == "churn"
    assert not list((ft_home / "spool").glob("*/rejected.jsonl"))


def test_git_and_host_context_tags(tmp_path: Path, monkeypatch: object) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    (repo / "train.py").write_text("print(2)\n")  # uncommitted change
    done = _child(
        """
        import flowtrack
        with flowtrack.start_run() as run:
            pass
        print(run.info.run_id)
        """,
        cwd=repo,
    )
    assert done.returncode == 0, done.stderr
    tags = flowtrack.Client().get_run(done.stdout.strip()).data.tags
    assert tags["flowtrack.git.commit"] == commit
    assert tags["flowtrack.git.dirty"] == "true"
    assert tags["flowtrack.git.branch"] == "main"
    assert tags["flowtrack.python"] == ".".join(map(str, sys.version_info[:3]))
    assert tags["flowtrack.host"]


def test_user_tags_win_over_context_tags() -> None:
    with flowtrack.start_run(tags={"flowtrack.host": "mine"}) as run:
        pass
    assert flowtrack.Client().get_run(run.info.run_id).data.tags["flowtrack.host"] == "mine"

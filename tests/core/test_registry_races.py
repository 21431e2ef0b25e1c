"""Two processes changing one registered model at once, on SQLite and PostgreSQL: version
numbers without gaps or duplicates, one winner per alias, and every change in the audit trail."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import uuid
from typing import Any

import flowtrack
import pytest

pytestmark = pytest.mark.slow

VERSIONS_PER_PROCESS = 10
ALIAS_SETS_PER_PROCESS = 10


def _child(home: str, uri: str, job: str, args: tuple[Any, ...], barrier: Any, out: Any) -> None:
    import os

    os.environ["FLOWTRACK_HOME"] = home
    os.environ["FLOWTRACK_TRACKING_URI"] = uri
    os.environ["FLOWTRACK_USER"] = f"proc-{args[-1]}"
    import flowtrack
    from flowtrack.registry import register_model

    client = flowtrack.Client()
    barrier.wait()
    try:
        if job == "register":
            name, source, _ = args
            for _ in range(VERSIONS_PER_PROCESS):
                out.append(register_model(source, name).version)
        else:
            name, version = args
            for _ in range(ALIAS_SETS_PER_PROCESS):
                client.set_alias(name, "champion", version)
            out.append(version)
    except Exception as exc:
        out.append(repr(exc))


def _race(uri: str, home: str, job: str, args: list[tuple[Any, ...]]) -> list[Any]:
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        out = manager.list()
        barrier = manager.Barrier(len(args))
        procs = [ctx.Process(target=_child, args=(home, uri, job, a, barrier, out)) for a in args]
        for p in procs:
            p.start()
        for p in procs:
            p.join(180)
        assert [p.exitcode for p in procs] == [0] * len(procs)
        return list(out)


def _source(store_uri: str) -> str:
    flowtrack.set_tracking_uri(store_uri)
    flowtrack.set_experiment(f"races-{uuid.uuid4().hex[:8]}")
    with flowtrack.start_run() as run:
        flowtrack.log_text("weights", "model/model.txt")
    assert flowtrack.flush()
    return f"runs:/{run.info.run_id}/model"


def test_two_processes_registering_versions_of_one_model(store_uri: str, ft_home: Any) -> None:
    source = _source(store_uri)
    name = f"race-{uuid.uuid4().hex[:8]}"
    # Neither process finds the model: both try to create it, one does.
    got = _race(store_uri, str(ft_home), "register", [(name, source, 1), (name, source, 2)])
    assert all(isinstance(v, int) for v in got), got
    assert sorted(got) == list(range(1, 2 * VERSIONS_PER_PROCESS + 1))

    client = flowtrack.Client()
    versions = client.search_model_versions(f"name = '{name}'").items
    assert sorted(v.version for v in versions) == list(range(1, 2 * VERSIONS_PER_PROCESS + 1))
    history = client.get_registry_history(name)
    assert [e.action for e in history].count("create_model") == 1
    created = [e for e in history if e.action == "create_version"]
    assert sorted(e.version or 0 for e in created) == sorted(got)
    assert {e.user for e in created} == {"proc-1", "proc-2"}


def test_two_processes_setting_one_alias(store_uri: str, ft_home: Any) -> None:
    source = _source(store_uri)
    client = flowtrack.Client()
    name = f"race-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    for _ in range(2):
        client.create_model_version(name, source)

    got = _race(store_uri, str(ft_home), "alias", [(name, 1), (name, 2)])
    assert sorted(got) == [1, 2], got

    winner = client.get_model_version_by_alias(name, "champion").version
    assert winner in (1, 2)
    assert client.get_registered_model(name).aliases == {"champion": winner}
    sets = [e for e in client.get_registry_history(name) if e.action == "set_alias"]
    assert len(sets) == 2 * ALIAS_SETS_PER_PROCESS
    assert {e.user for e in sets} == {"proc-1", "proc-2"}
    # Serialized: each change saw the one before it, and the last one is what the store holds.
    assert sets[0].detail["old"] is None
    for before, after in itertools.pairwise(sets):
        assert after.detail["old"] == before.detail["new"]
    assert sets[-1].detail["new"] == winner

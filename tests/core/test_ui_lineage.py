"""The web UI's data queries (flowtrack/ui/lineage.py) on SQLite and PostgreSQL: the dataset list,
a dataset's versions with their writers and readers, and the lineage graph around a run, a
dataset version or a model version (the browser tests draw it; these check its shape)."""

# The fixture is imported from test_ui_queries.py and named again as a test parameter:
# ruff: noqa: F811

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from flowtrack.errors import NotFoundError
from flowtrack.store.sql.store import SqlStore
from flowtrack.ui import lineage

from tests.core.test_ui_queries import store  # noqa: F401 - the same stores


class Writer:
    """Runs that read and write dataset versions, written as store events."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.experiment = store.create_experiment(f"ui-lineage-{uuid.uuid4().hex[:6]}")
        self.clock = 1_000
        # The PostgreSQL database is the session's: names of their own keep the tests apart.
        self.tag = uuid.uuid4().hex[:6]

    def named(self, name: str) -> str:
        return f"{name}-{self.tag}"

    def run(self, name: str, reads: tuple[str, ...] = (), writes: tuple[str, ...] = ()) -> str:
        """A run reading and writing versions given as "name@content"; its id."""
        run_id = uuid.uuid4().hex
        self.clock += 10
        events: list[dict[str, Any]] = [
            {
                "op": "create_run",
                "run_id": run_id,
                "experiment_id": self.experiment,
                "run_name": name,
                "start_time": self.clock,
                "tags": {},
            }
        ]
        for direction, specs in (("input", reads), ("output", writes)):
            for spec in specs:
                events += self.version_events(run_id, direction, spec)
        assert not self.store.apply_events(events)
        return run_id

    def version_events(self, run_id: str, direction: str, spec: str) -> list[dict[str, Any]]:
        name, _, content = spec.partition("@")
        name = self.named(name)
        uri, digest = f"/data/{name}", hashlib.sha256(content.encode()).hexdigest()
        self.clock += 1
        version = {
            "op": "dataset",
            "run_id": run_id,
            "direction": direction,
            "version_id": self.version_id(spec),
            "name": name,
            "uri": uri,
            "digest": digest,
            "algorithm": "blake3",
            "size": len(content),
            "file_count": 1,
            "mode": "snapshot",
            "created_by_run_id": None,
            "created_time": self.clock,
        }
        link = {"op": "run_dataset", "run_id": run_id, "uri": uri, "digest": digest}
        return [version, {**link, "direction": direction}]

    def version_id(self, spec: str) -> str:
        return hashlib.md5(f"{spec}{self.tag}".encode()).hexdigest()


def test_datasets_are_listed_newest_first_with_their_latest_version(store: SqlStore) -> None:
    w = Writer(store)
    w.run("prep", reads=("raw@r1",), writes=("train@t1",))
    w.run("prep-again", reads=("raw@r1",), writes=("train@t22",))
    listed = [d for d in lineage.datasets(store)["datasets"] if d["name"].endswith(w.tag)]
    assert [(d["name"], d["versions"]) for d in listed] == [
        (w.named("train"), 2),
        (w.named("raw"), 1),
    ]
    assert listed[0]["latest"]["size"] == 3  # "t22", the newer version
    assert listed[0]["last_created"] == listed[0]["latest"]["created_time"]
    assert listed[0]["created_by"]["run_name"] == "prep-again"
    assert listed[1]["created_by"] is None  # only read, never written


def test_a_datasets_versions_name_their_writers_and_readers(store: SqlStore) -> None:
    w = Writer(store)
    prep = w.run("prep", writes=("train@t1",))
    readers = [w.run(f"train-{i}", reads=("train@t1",)) for i in range(3)]
    newer = w.run("prep-2", writes=("train@t2",))
    versions, total = lineage.dataset_versions(store, w.named("train"))
    assert total == 2
    assert [v["version_id"] for v in versions] == [
        w.version_id("train@t2"),
        w.version_id("train@t1"),
    ]
    assert [r["run_id"] for r in versions[0]["written_by"]] == [newer]
    assert versions[0]["read_by"] == [] and versions[0]["readers"] == 0
    assert [r["run_name"] for r in versions[1]["written_by"]] == ["prep"]
    assert versions[1]["written_by"][0]["run_id"] == prep
    assert [r["run_id"] for r in versions[1]["read_by"]] == readers
    assert versions[1]["readers"] == 3
    with pytest.raises(NotFoundError, match="dataset 'nope' does not exist"):
        lineage.dataset_versions(store, "nope")


def test_a_dataset_page_holds_the_newest_versions(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = Writer(store)
    for i in range(4):
        w.run(f"prep-{i}", writes=(f"big@{i}",))
    monkeypatch.setattr(lineage, "MAX_VERSIONS", 3)
    versions, total = lineage.dataset_versions(store, w.named("big"))
    assert total == 4
    assert [v["written_by"][0]["run_name"] for v in versions] == ["prep-3", "prep-2", "prep-1"]


def _edges(graph: lineage.Graph) -> set[tuple[str, str, str]]:
    return graph.edges


def test_the_graph_around_a_model_version_follows_the_chain(store: SqlStore) -> None:
    w = Writer(store)
    prep = w.run("prep", reads=("raw@r",), writes=("train@t",))
    train = w.run("train", reads=("train@t",))
    m = w.named("m")
    store.create_registered_model(m)
    store.create_model_version(m, f"runs:/{train}/model", train)
    raw, data = (lineage.dataset_key(w.version_id(s)) for s in ("raw@r", "train@t"))
    model = lineage.model_key(m, 1)

    graph = lineage.lineage(store, "model", m, 1)
    assert graph.root == model
    assert _edges(graph) == {
        (lineage.run_key(train), model, "registered"),
        (data, lineage.run_key(train), "read"),
        (lineage.run_key(prep), data, "wrote"),
        (raw, lineage.run_key(prep), "read"),
    }
    assert graph.nodes[model]["run_id"] == train
    # Depth limits the walk: two edges from the model reach the dataset but not its writer.
    near = lineage.lineage(store, "model", m, 1, depth=2)
    assert set(near.nodes) == {model, lineage.run_key(train), data}
    # From the dataset version, both ways.
    around = lineage.lineage(store, "dataset", w.version_id("train@t"), depth=1)
    assert set(around.nodes) == {data, lineage.run_key(prep), lineage.run_key(train)}
    from_run = lineage.lineage(store, "run", prep, depth=1)
    assert set(from_run.nodes) == {lineage.run_key(prep), raw, data}
    as_json = from_run.to_json()
    assert {n["kind"] for n in as_json["nodes"]} == {"run", "dataset"}
    assert {"source", "target", "kind"} == set(as_json["edges"][0])


def test_a_run_that_reads_and_writes_one_version_and_unknown_roots(store: SqlStore) -> None:
    w = Writer(store)
    run = w.run("in-place", reads=("cache@c",), writes=("cache@c",))
    graph = lineage.lineage(store, "run", run)
    key = lineage.dataset_key(w.version_id("cache@c"))
    assert _edges(graph) == {
        (key, lineage.run_key(run), "read"),
        (lineage.run_key(run), key, "wrote"),
    }
    with pytest.raises(NotFoundError):
        lineage.lineage(store, "dataset", "0" * 32)
    with pytest.raises(NotFoundError):
        lineage.lineage(store, "run", "0" * 32)


def test_the_graph_stops_at_max_nodes(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    w = Writer(store)
    w.run("writer", writes=("popular@p",))
    for i in range(6):
        w.run(f"reader-{i}", reads=("popular@p",))
    monkeypatch.setattr(lineage, "MAX_NODES", 4)
    graph = lineage.lineage(store, "dataset", w.version_id("popular@p"))
    assert len(graph.nodes) == 4
    assert graph.truncated
    assert all(s in graph.nodes and t in graph.nodes for s, t, _ in graph.edges)

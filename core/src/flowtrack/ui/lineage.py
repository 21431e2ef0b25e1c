"""What the UI's data pages ask that the store interface has no call for: the list of datasets
(version names) with their latest version, one dataset's versions with the runs that wrote and
read each, and the lineage graph around a run, a dataset version or a model version.

The graph is walked through the store interface (runs read and wrote dataset versions, model
versions are registered from runs); the dataset list and the lookup of one dataset version by
id are one SQL statement each, as the store interface has neither.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from flowtrack.entities import DatasetVersion, Run
from flowtrack.errors import NotFoundError
from flowtrack.registry.entities import ModelVersion
from flowtrack.store.base import TrackingStore
from flowtrack.store.rest.codec import dataset_to_dict
from flowtrack.ui.queries import require_sql

MAX_DATASETS = 5000
MAX_NODES = 150
# A dataset page shows its newest versions, each with its first readers (a popular table may
# have thousands): two store calls per version.
MAX_VERSIONS = 200
MAX_READERS = 20


def _store_engine(store: TrackingStore) -> Any:
    return require_sql(store, "datasets can be listed")


def datasets(store: TrackingStore) -> dict[str, Any]:
    """{"datasets": [{"name", "versions", "last_created", "latest", "created_by"}],
    "truncated"}: every dataset name, the most recently created first, with its latest version
    and the run that wrote that (a run summary, or None)."""
    from flowtrack.store.sql import schema

    d = schema.dataset_versions.c
    counts = (
        select(d.name, func.count().label("n"), func.max(d.created_time).label("last"))
        .group_by(d.name)
        .order_by(func.max(d.created_time).desc(), d.name)
        .limit(MAX_DATASETS + 1)
    )
    with _store_engine(store).connect() as conn:
        rows = list(conn.execute(counts))
    truncated = len(rows) > MAX_DATASETS
    rows = rows[:MAX_DATASETS]
    latest: dict[str, DatasetVersion] = {}
    for version in store.get_dataset_versions([r.name for r in rows]) if rows else []:
        if version.name in {r.name for r in rows} and version.name not in latest:
            latest[version.name] = version  # newest first
    creators = {v.created_by_run_id for v in latest.values() if v.created_by_run_id}
    runs = {r.info.run_id: run_summary(r) for r in store.get_runs(sorted(creators))}
    return {
        "datasets": [
            {
                "name": r.name,
                "versions": int(r.n),
                "last_created": int(r.last),
                "latest": dataset_to_dict(latest[r.name]) if r.name in latest else None,
                "created_by": runs.get(latest[r.name].created_by_run_id or "")
                if r.name in latest
                else None,
            }
            for r in rows
        ],
        "truncated": truncated,
    }


def run_summary(run: Run) -> dict[str, Any]:
    info = run.info
    return {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "status": str(info.status),
    }


def named_versions(store: TrackingStore, name: str) -> list[DatasetVersion]:
    """The versions named ``name``, newest first (NotFoundError if none)."""
    versions = [v for v in store.get_dataset_versions([name]) if v.name == name]
    if not versions:
        raise NotFoundError("dataset", name)
    return versions


def dataset_versions(store: TrackingStore, name: str) -> tuple[list[dict[str, Any]], int]:
    """The newest MAX_VERSIONS versions named ``name``, each with ``written_by`` and
    ``read_by`` (run summaries) and ``readers`` (their number); and how many there are."""
    every = named_versions(store, name)
    versions = every[:MAX_VERSIONS]
    links = {
        v.version_id: (
            store.get_dataset_run_ids(v.version_id, "output"),
            store.get_dataset_run_ids(v.version_id, "input"),
        )
        for v in versions
    }
    wanted = {r for writers, readers in links.values() for r in writers + readers[:MAX_READERS]}
    runs = {r.info.run_id: run_summary(r) for r in store.get_runs(sorted(wanted))}
    out = []
    for v in versions:
        writers, readers = links[v.version_id]
        out.append(
            {
                **dataset_to_dict(v),
                "written_by": [runs[r] for r in writers if r in runs],
                "read_by": [runs[r] for r in readers[:MAX_READERS] if r in runs],
                "readers": len(readers),
            }
        )
    return out, len(every)


def dataset_version(store: TrackingStore, version_id: str) -> DatasetVersion:
    from flowtrack.store.sql import schema

    d = schema.dataset_versions.c
    with _store_engine(store).connect() as conn:
        row = conn.execute(select(d.uri).where(d.version_id == version_id)).first()
    at_uri = store.get_dataset_versions([row.uri]) if row else []
    found = [v for v in at_uri if v.version_id == version_id]
    if not found:
        raise NotFoundError("dataset version", version_id)
    return found[0]


# -- the lineage graph -----------------------------------------------------------------------


def run_key(run_id: str) -> str:
    return f"run:{run_id}"


def dataset_key(version_id: str) -> str:
    return f"dataset:{version_id}"


def model_key(name: str, version: int) -> str:
    return f"model:{name}/{version}"


@dataclass
class Graph:
    """Nodes by key ("run:<id>", "dataset:<id>", "model:<name>/<version>") and edges
    (source key, target key, kind: "read", "wrote" or "registered"), in data-flow direction."""

    root: str
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: set[tuple[str, str, str]] = field(default_factory=set)
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "nodes": list(self.nodes.values()),
            "edges": [{"source": s, "target": t, "kind": k} for s, t, k in sorted(self.edges)],
            "truncated": self.truncated,
        }

    def keep(self, keys: Iterable[str]) -> None:
        """Leave only these nodes (and the edges between them)."""
        kept = set(keys)
        self.nodes = {k: v for k, v in self.nodes.items() if k in kept}
        self.edges = {e for e in self.edges if e[0] in kept and e[1] in kept}


def _dataset_node(v: DatasetVersion) -> dict[str, Any]:
    return {"key": dataset_key(v.version_id), "kind": "dataset", **dataset_to_dict(v)}


def _model_node(v: ModelVersion) -> dict[str, Any]:
    return {
        "key": model_key(v.name, v.version),
        "kind": "model",
        "name": v.name,
        "version": v.version,
        "stage": str(v.current_stage),
        "aliases": list(v.aliases),
        "run_id": v.run_id,
    }


def _run_node(run: Run) -> dict[str, Any]:
    return {"key": run_key(run.info.run_id), "kind": "run", **run_summary(run)}


class _Walk:
    """A breadth-first walk from one node, up to ``depth`` edges away, at most MAX_NODES."""

    def __init__(self, store: TrackingStore, root: str, depth: int) -> None:
        self.store = store
        self.graph = Graph(root)
        self.depth = depth
        self.queue: deque[tuple[str, int]] = deque()
        self.runs: dict[str, Run] = {}

    def add(self, node: dict[str, Any], distance: int) -> bool:
        if node["key"] in self.graph.nodes:
            return True
        if len(self.graph.nodes) >= MAX_NODES:
            self.graph.truncated = True
            return False
        self.graph.nodes[node["key"]] = node
        self.queue.append((node["key"], distance))
        return True

    def run_node(self, run_id: str) -> dict[str, Any] | None:
        if run_id not in self.runs:
            found = self.store.get_runs([run_id])
            if not found:
                return None  # deleted
            self.runs[run_id] = found[0]
        return _run_node(self.runs[run_id])

    def link(self, source: str, target: str, kind: str) -> None:
        self.graph.edges.add((source, target, kind))

    def expand_run(self, key: str, run_id: str, distance: int) -> None:
        for direction in ("input", "output"):
            for v in self.store.get_run_datasets(run_id, direction):
                if not self.add(_dataset_node(v), distance):
                    continue
                if direction == "output":
                    self.link(key, dataset_key(v.version_id), "wrote")
                else:
                    self.link(dataset_key(v.version_id), key, "read")
        page = self.store.search_model_versions(f"run_id = '{run_id}'", MAX_NODES, None, None)
        for mv in page.items:
            if self.add(_model_node(mv), distance):
                self.link(key, model_key(mv.name, mv.version), "registered")

    def expand_dataset(self, key: str, version_id: str, distance: int) -> None:
        for direction, kind in (("output", "wrote"), ("input", "read")):
            for run_id in self.store.get_dataset_run_ids(version_id, direction):
                node = self.run_node(run_id)
                if node is None or not self.add(node, distance):
                    continue
                if kind == "wrote":
                    self.link(node["key"], key, kind)
                else:
                    self.link(key, node["key"], kind)

    def expand_model(self, key: str, node: dict[str, Any], distance: int) -> None:
        run = self.run_node(node["run_id"]) if node.get("run_id") else None
        if run is not None and self.add(run, distance):
            self.link(run["key"], key, "registered")

    def walk(self) -> Graph:
        while self.queue:
            key, distance = self.queue.popleft()
            if distance >= self.depth:
                continue
            node = self.graph.nodes[key]
            if node["kind"] == "run":
                self.expand_run(key, node["run_id"], distance + 1)
            elif node["kind"] == "dataset":
                self.expand_dataset(key, node["version_id"], distance + 1)
            else:
                self.expand_model(key, node, distance + 1)
        return self.graph


def lineage(store: TrackingStore, kind: str, ident: str, version: int = 0, depth: int = 4) -> Graph:
    """The graph around a run (``ident`` its id), a dataset version (its id) or a model version
    (``ident`` the model name, ``version``). Unknown ones raise NotFoundError."""
    if kind == "run":
        root: dict[str, Any] = _run_node(store.get_run(ident))
    elif kind == "dataset":
        root = _dataset_node(dataset_version(store, ident))
    else:
        root = _model_node(store.get_model_version(ident, version))
    walk = _Walk(store, root["key"], depth)
    walk.add(root, 0)
    return walk.walk()

"""`flowtrack data cache-gc`: the user-level cache keeps what versions and pending events use,
and what came in recently; the rest goes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import flowtrack
import pytest
from click.testing import CliRunner
from flowtrack import config
from flowtrack.cli.main import cli
from flowtrack.data.hashing import hash_bytes
from flowtrack.errors import FlowtrackError
from flowtrack.tracking import journal as jr
from flowtrack.tracking.cache_gc import collect
from flowtrack.tracking.datasets import user_caches

THREE_DAYS_AGO = time.time() - 3 * 86400


def _age_all(cache: Any) -> None:
    """Every object as if it came into the cache three days ago."""
    for oid in cache.oids():
        os.utime(cache.path(oid), (THREE_DAYS_AGO, THREE_DAYS_AGO))


def _orphan(cache: Any, data: bytes) -> str:
    oid = hash_bytes(data, "blake3")
    cache.put_bytes(oid, data)
    return oid


def _versions(tmp_path: Path) -> tuple[set[str], list[str]]:
    """Two versions of a file and a folder version, logged by runs: the objects they use."""
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,2\n")
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "1.txt").write_text("one")
    (folder / "2.txt").write_text("two")
    with flowtrack.start_run():
        first = flowtrack.log_input(str(data))
        images = flowtrack.log_output(str(folder))
    data.write_text("a,b\n3,4\n")
    with flowtrack.start_run():
        second = flowtrack.log_input(str(data))
    assert flowtrack.flush(30)
    _, cache = user_caches()
    used = set(cache.oids())
    assert first and second and images
    digests = [first.digest, second.digest, images.digest]
    assert len(used) == 5 and set(digests) <= used  # 2 file versions, a manifest, 2 files
    return used, digests


def test_unused_old_objects_go_and_what_versions_use_stays(tmp_path: Path) -> None:
    used, _ = _versions(tmp_path)
    _, cache = user_caches()
    old = _orphan(cache, b"nobody uses me")
    _age_all(cache)
    young = _orphan(cache, b"nobody uses me yet")

    dry = CliRunner().invoke(cli, ["data", "cache-gc", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would remove 1 objects" in dry.output
    assert cache.has(old)
    done = CliRunner().invoke(cli, ["data", "cache-gc"])
    assert done.exit_code == 0, done.output
    assert "Removed 1 objects" in done.output
    assert "kept 5 in use and 1 newer than 24 h" in done.output
    assert set(cache.oids()) == used | {young}
    # The folder version is whole: its manifest and both files are still readable.
    (manifest,) = [oid for oid in used if oid.endswith(".dir")]
    entries = cache.read_manifest(manifest).entries
    assert sorted(cache.read_verified(e.hash) for e in entries) == [b"one", b"two"]
    gone = CliRunner().invoke(cli, ["data", "cache-gc", "--min-age", "0"])
    assert "Removed 1 objects" in gone.output and set(cache.oids()) == used


def test_objects_of_events_still_in_the_spool_stay(tmp_path: Path) -> None:
    """A run logged while its store was down: its dataset event waits in a journal, and the
    object it names must outlive a gc (the store does not know the version yet)."""
    _, cache = user_caches()
    waiting = _orphan(cache, b"logged while the store was down")
    _age_all(cache)
    folder = jr.store_dir(config.spool_dir(), "sqlite:////elsewhere/down.db")
    event = {"seq": 1, "op": "dataset", "digest": waiting, "uri": "/data/x.csv"}
    (folder / f"pending{jr.SUFFIX}").write_text(json.dumps(event) + "\n")
    plan = collect(stores=[flowtrack.get_tracking_uri()])
    assert plan.remove == [] and plan.kept == 1 and cache.has(waiting)


def test_a_store_that_does_not_answer_stops_it_and_nothing_is_removed(tmp_path: Path) -> None:
    _, cache = user_caches()
    old = _orphan(cache, b"unused")
    _age_all(cache)
    down = "postgresql://flowtrack@127.0.0.1:1/nowhere"
    with pytest.raises(FlowtrackError, match="did not answer"):
        collect(stores=[flowtrack.get_tracking_uri(), down])
    assert cache.has(old)
    result = CliRunner().invoke(cli, ["data", "cache-gc", "--store", down])
    assert result.exit_code != 0 and "--store" in result.output and cache.has(old)


def test_a_deleted_sqlite_store_keeps_nothing_and_is_not_recreated(tmp_path: Path) -> None:
    """A store this home once logged to whose SQLite file is gone (a temp folder) has no
    versions to keep; asking it would create an empty database, so it is not asked."""
    gone = tmp_path / "old" / "flowtrack.db"
    jr.store_dir(config.spool_dir(), f"sqlite:///{gone}")
    _, cache = user_caches()
    old = _orphan(cache, b"used by nobody")
    _age_all(cache)
    result = CliRunner().invoke(cli, ["data", "cache-gc"])
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("Stores gone")]
    assert f"sqlite:///{gone}" in line
    assert "Removed 1 objects" in result.output and not cache.has(old)
    assert not gone.exists() and not gone.parent.exists()

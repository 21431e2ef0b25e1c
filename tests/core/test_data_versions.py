"""Versions across git revisions: diff, gc scopes, verify, and flowtrack.data.open(rev=)."""

from __future__ import annotations

import os
from pathlib import Path

import flowtrack.data
import pytest
from click.testing import CliRunner
from flowtrack.cli.main import cli
from flowtrack.data import maintenance
from flowtrack.data import workspace as ws
from flowtrack.data.objects import CorruptObjectError
from flowtrack.data.repo import DataRepo
from flowtrack.errors import InvalidInputError

from tests.core.datarepo import git, make_repo, write_tree


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataRepo:
    """Two commits of data/ (v1 tagged), then a third version left uncommitted."""
    repo = make_repo(tmp_path / "proj")
    monkeypatch.chdir(repo.root)
    data = repo.root / "data"
    write_tree(data, 6, seed=1)
    (repo.root / "model.txt").write_text("model v1")
    ws.add(repo, data)
    ws.add(repo, repo.root / "model.txt")
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "v1")
    git(repo.root, "tag", "v1")
    (data / "part-0/f0000.bin").write_bytes(b"changed in v2")
    (data / "part-1/extra.bin").write_bytes(b"new in v2")
    (data / "part-2/f0002.bin").unlink()
    ws.add(repo, data)
    git(repo.root, "commit", "-qam", "v2")
    (repo.root / "model.txt").write_text("model v3, not committed")
    ws.add(repo, repo.root / "model.txt")
    return repo


def test_diff_between_revisions_and_working_tree(history: DataRepo) -> None:
    changes = [(c.change, c.path) for c in maintenance.diff(history, "v1", "HEAD")]
    assert changes == [
        ("modified", "data/part-0/f0000.bin"),
        ("added", "data/part-1/extra.bin"),
        ("deleted", "data/part-2/f0002.bin"),
    ]
    assert [(c.change, c.path) for c in maintenance.diff(history, "HEAD")] == [
        ("modified", "model.txt")
    ]
    out = CliRunner().invoke(cli, ["data", "diff", "HEAD~1"])
    assert out.exit_code == 0
    assert "modified data/part-0/f0000.bin" in out.output and "modified model.txt" in out.output
    bad = CliRunner().invoke(cli, ["data", "diff", "no-such-rev"])
    assert bad.exit_code == 1 and "invalid git revision 'no-such-rev'" in bad.output


def test_open_any_version(history: DataRepo) -> None:
    with flowtrack.data.open("data/part-0/f0000.bin", rev="v1") as f:
        assert f.read() == write_tree(history.root / "scratch", 6, seed=1)["part-0/f0000.bin"]
    with flowtrack.data.open("data/part-0/f0000.bin") as f:
        assert f.read() == b"changed in v2"
    with flowtrack.data.open("model.txt", rev="v1", mode="r") as f:
        assert f.read() == "model v1"
    assert flowtrack.data.open("model.txt", mode="r").read() == "model v3, not committed"
    with pytest.raises(InvalidInputError, match="is not tracked by flowtrack at v1"):
        flowtrack.data.open("data/part-1/extra.bin", rev="v1")
    with pytest.raises(InvalidInputError, match="versions are read-only"):
        flowtrack.data.open("model.txt", mode="w")


def test_open_refuses_a_corrupted_object(history: DataRepo) -> None:
    oid = next(p for p in ws.find_pointers(history) if p.path == "model.txt").hash
    obj = history.cache.path(oid)
    os.chmod(obj, 0o644)
    obj.write_bytes(b"rot")
    with pytest.raises(CorruptObjectError, match="is corrupted"):
        flowtrack.data.open("model.txt")


def test_gc_scopes(history: DataRepo) -> None:
    from flowtrack.data import gitrev

    v1 = {p.path: p for p in gitrev.pointers_at(history.root, "v1")}
    v1_files = history.cache.read_manifest(v1["data"].hash).by_path()
    only_in_v1 = {
        v1["data"].hash,  # the old folder manifest
        v1_files["part-0/f0000.bin"].hash,  # changed in v2
        v1_files["part-2/f0002.bin"].hash,  # deleted in v2
        v1["model.txt"].hash,  # the committed model; the working tree has v3
    }
    total = set(history.cache.oids())

    dry = maintenance.gc(history, workspace=True, dry_run=True)
    assert set(dry.remove) == only_in_v1
    assert set(history.cache.oids()) == total  # a dry run removes nothing
    assert maintenance.gc(history, workspace=True, commits=True, dry_run=True).remove == []
    assert maintenance.gc(history, workspace=True, tags=True, dry_run=True).remove == []
    # main's tip (v2) still points at v1's model; v1's old data files were only in the tag.
    tip = maintenance.gc(history, workspace=True, branches=True, dry_run=True)
    assert set(tip.remove) == only_in_v1 - {v1["model.txt"].hash}

    removed = maintenance.gc(history, workspace=True)
    assert set(removed.remove) == only_in_v1
    assert set(history.cache.oids()) == total - only_in_v1
    for ptr in ws.find_pointers(history):
        assert ws.status(history, ptr).clean
    out = CliRunner().invoke(cli, ["data", "gc"])
    assert out.exit_code == 1 and "say what to keep" in out.output


def test_gc_never_loses_a_referenced_manifest(history: DataRepo) -> None:
    maintenance.gc(history, workspace=True)
    for ptr in ws.find_pointers(history):
        assert history.cache.has(ptr.hash)
        if ptr.is_dir:
            manifest = history.cache.read_manifest(ptr.hash)
            assert all(history.cache.has(e.hash) for e in manifest.entries)


def test_verify_reports_corruption(history: DataRepo) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(cli, ["data", "verify"]).output.strip()
        == "All cache objects match their hashes."
    )
    oid = next(iter(history.cache.oids()))
    obj = history.cache.path(oid)
    os.chmod(obj, 0o644)
    obj.write_bytes(b"rot")
    out = runner.invoke(cli, ["data", "verify"])
    assert out.exit_code == 1
    assert "1 cache objects are corrupted" in out.output and str(obj) in out.output


def test_verify_remove_lets_a_good_copy_come_back(history: DataRepo) -> None:
    oid = next(p for p in ws.find_pointers(history) if p.path == "model.txt").hash
    obj = history.cache.path(oid)
    os.chmod(obj, 0o644)
    obj.write_bytes(b"rot")
    out = CliRunner().invoke(cli, ["data", "verify", "--remove"])
    assert out.exit_code == 1 and "1 corrupted cache objects were removed" in out.output
    assert not history.cache.has(oid)
    assert CliRunner().invoke(cli, ["data", "verify"]).exit_code == 0


@pytest.mark.parametrize("evil", ["../escape.txt", "/etc/evil", "a/../../b", "a\\..\\b", ""])
def test_a_tampered_manifest_cannot_write_outside_the_folder(history: DataRepo, evil: str) -> None:
    import json

    from flowtrack.data.hashing import hash_bytes
    from flowtrack.data.pointer import Pointer

    body = json.dumps([{"path": evil, "hash": "0" * 64, "size": 1}]).encode()
    oid = hash_bytes(body, "blake3") + ".dir"
    history.cache.put_bytes(oid, body)
    ptr = Pointer(history.root / "evil.ft", "evil", "blake3", oid, 1, 1)
    ptr.write()
    with pytest.raises(InvalidInputError, match="manifest entry path"):
        ws.checkout(history, ptr, force=True)
    assert not (history.root / "escape.txt").exists()
    assert not (history.root.parent / "escape.txt").exists()


def test_gc_removes_leftovers_of_dead_writers_only(history: DataRepo) -> None:
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    history.cache.tmp.mkdir(parents=True, exist_ok=True)
    oid = next(iter(history.cache.oids()))
    leftovers = [
        history.cache.tmp / f"fetch-{dead}-abc",
        history.cache.tmp / f"add-{dead}-def",
        history.cache.path(oid).with_name(history.cache.path(oid).name + f".tmp-{dead}-0a1b2c3d"),
    ]
    live = history.cache.tmp / f"fetch-{os.getpid()}-mine"
    for path in [*leftovers, live]:
        path.write_bytes(b"partial")
    maintenance.gc(history, workspace=True, commits=True)
    assert [p.exists() for p in leftovers] == [False, False, False]
    assert live.exists()  # a writer that is still running keeps its file

"""flowtrack data add/status/checkout/commit on real files in a real git repo."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowtrack.cli.main import cli
from flowtrack.data import pointer as pointers
from flowtrack.data import workspace as ws
from flowtrack.data.objects import CorruptObjectError
from flowtrack.data.pointer import PointerError
from flowtrack.data.repo import DataRepo
from flowtrack.errors import FlowtrackError, InvalidInputError

from tests.core.datarepo import git, make_repo, read_tree, write_tree


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataRepo:
    r = make_repo(tmp_path / "proj")
    monkeypatch.chdir(r.root)
    return r


def _cache_objects(repo: DataRepo) -> list[str]:
    return sorted(repo.cache.oids())


def test_add_status_checkout_round_trip(repo: DataRepo) -> None:
    data = repo.root / "data" / "images"
    files = write_tree(data, 30)
    ptr = ws.add(repo, data)
    assert ptr.file == repo.root / "data" / "images.ft"
    assert ptr.is_dir and ptr.files == 30 and ptr.size == 30 * 64
    assert (repo.root / "data" / ".gitignore").read_text() == "/images\n"
    assert len(_cache_objects(repo)) == 31  # 30 files and the manifest
    for oid in _cache_objects(repo):
        assert repo.cache.verify(oid)
        assert not os.access(repo.cache.path(oid), os.W_OK) or os.geteuid() == 0
        assert repo.cache.path(oid).stat().st_mode & 0o222 == 0  # read-only
    assert ws.status(repo, ptr).clean

    (data / "part-0/f0000.bin").write_bytes(b"edited")
    (data / "part-1/new.bin").write_bytes(b"new")
    (data / "part-2/f0002.bin").unlink()
    changes = ws.status(repo, ptr)
    assert (changes.added, changes.modified, changes.deleted) == (
        ["part-1/new.bin"],
        ["part-0/f0000.bin"],
        ["part-2/f0002.bin"],
    )
    with pytest.raises(ws.UnsavedChangesError, match=r"part-0/f0000\.bin, part-1/new\.bin"):
        ws.checkout(repo, ptr)
    assert (data / "part-0/f0000.bin").read_bytes() == b"edited"  # refused: nothing touched
    ws.checkout(repo, ptr, force=True)
    assert read_tree(data) == files
    # The cache was never written through: editing a checked-out file leaves it intact.
    (data / "part-0/f0000.bin").write_bytes(b"edit after checkout")
    assert all(repo.cache.verify(oid) for oid in _cache_objects(repo))


def test_checkout_into_an_empty_workspace_needs_no_rehash(repo: DataRepo) -> None:
    data = repo.root / "images"
    files = write_tree(data, 12)
    ptr = ws.add(repo, data)
    shutil.rmtree(data)
    assert ws.checkout(repo, ptr) == 12
    assert read_tree(data) == files
    fresh = DataRepo(repo.root)  # a new process: state read from disk
    # Every checked-out file is known to the state cache by (inode, mtime, size).
    for path in data.rglob("*.bin"):
        assert fresh.state.get(path.stat()) is not None


def test_single_file_and_older_version_via_git(repo: DataRepo) -> None:
    csv = repo.root / "train.csv"
    csv.write_text("a,b\n1,2\n")
    v1 = ws.add(repo, csv)
    assert not v1.is_dir and v1.files == 1
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-qm", "v1")
    csv.write_text("a,b\n1,2\n3,4\n")
    v2 = ws.add(repo, csv)
    assert v2.hash != v1.hash
    git(repo.root, "commit", "-qam", "v2")
    git(repo.root, "checkout", "-q", "HEAD~1", "--", "train.csv.ft")
    ws.checkout(repo, pointers.load(repo.root / "train.csv.ft"), force=True)
    assert csv.read_text() == "a,b\n1,2\n"


def test_corrupted_cache_object_is_never_checked_out(repo: DataRepo) -> None:
    data = repo.root / "d"
    write_tree(data, 5)
    ptr = ws.add(repo, data)
    victim = ws._expected(repo, ptr)["part-0/f0000.bin"]  # type: ignore[index]
    obj = repo.cache.path(victim.hash)
    os.chmod(obj, 0o644)
    obj.write_bytes(b"bit rot")
    shutil.rmtree(data)
    with pytest.raises(CorruptObjectError, match="1 cache objects of d are corrupted"):
        ws.checkout(repo, ptr)
    assert not (data / "part-0/f0000.bin").exists()
    assert (data / "part-1/f0001.bin").exists()  # the good ones were checked out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("path: x\nalgorithm: blake3\nhash: [unclosed\n", "line 3"),
        ("path: x\nalgorithm: sha1\nhash: ab\nsize: 1\nfiles: 1\n", "line 2: algorithm 'sha1'"),
        (
            "path: x\nalgorithm: md5\nhash: zz\nsize: 1\nfiles: 1\n",
            "line 3: hash 'zz' is not a md5 hash",
        ),
        (
            "path: ../x\nalgorithm: md5\nhash: " + "a" * 32 + "\nsize: 1\nfiles: 1\n",
            "line 1: path '../x'",
        ),
        (
            "path: x\nalgorithm: md5\nhash: " + "a" * 32 + "\nsize: -1\nfiles: 1\n",
            "line 4: size -1",
        ),
        ("path: x\nalgorithm: md5\nhash: " + "a" * 32 + "\nsize: 1\n", "missing key 'files'"),
        ("path: x\nextra: 1\n", "line 2: unknown key 'extra'"),
        ("- a list\n", "must be a mapping"),
    ],
)
def test_hand_edited_pointer_errors_name_file_and_line(
    repo: DataRepo, text: str, message: str
) -> None:
    file = repo.root / "x.ft"
    file.write_text(text)
    with pytest.raises(PointerError, match=re.escape(message)) as info:
        pointers.load(file)
    assert str(file) in str(info.value)


def test_bad_paths_are_refused(repo: DataRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    with pytest.raises(InvalidInputError, match="is outside the data repo"):
        ws.add(repo, outside)
    with pytest.raises(InvalidInputError, match="does not exist"):
        ws.add(repo, repo.root / "missing")
    with pytest.raises(InvalidInputError, match=r"is inside \.git/"):
        ws.add(repo, repo.root / ".git" / "config")
    loop = repo.root / "loopy"
    loop.mkdir()
    (loop / "a").symlink_to(loop / "b")
    (loop / "b").symlink_to(loop / "a")
    with pytest.raises(InvalidInputError, match="is a broken symlink or a symlink loop"):
        ws.add(repo, loop)
    assert not (repo.root / "loopy.ft").exists()


def _kill_during(code: str, root: Path, marker: str) -> None:
    """Run ``code`` in a child and SIGKILL it as soon as ``marker`` shows up on its stdout."""
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=root, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    while marker not in proc.stdout.readline():
        assert proc.poll() is None, "the child ended before it could be killed"
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_kill_during_add_then_rerun_completes(repo: DataRepo) -> None:
    data = repo.root / "big"
    files = write_tree(data, 3000, size=512)
    _kill_during(
        """
        from pathlib import Path
        from flowtrack.data.repo import DataRepo
        from flowtrack.data import tree, workspace
        original = tree.hash_items
        def slow(*a, **k):
            print("adding", flush=True)
            return original(*a, **k)
        workspace.hash_items = slow
        workspace.add(DataRepo.find(), Path("big"))
        """,
        repo.root,
        "adding",
    )
    assert read_tree(data) == files  # originals untouched
    repo = DataRepo(repo.root)
    ptr = ws.add(repo, data)  # the re-run completes
    assert ptr.files == 3000
    for oid in repo.cache.oids():
        assert repo.cache.verify(oid), f"partial object {oid} under its final name"
    from flowtrack.data.maintenance import gc

    gc(repo, workspace=True)  # also clears temp files the killed add left behind
    assert list(repo.cache.base.rglob("*.tmp-*")) == []
    assert sorted(repo.cache.oids()) == sorted(
        {ptr.hash} | {e.hash for e in repo.cache.read_manifest(ptr.hash).entries}
    )


@pytest.mark.slow
def test_kill_during_checkout_then_rerun_completes(repo: DataRepo) -> None:
    data = repo.root / "big"
    files = write_tree(data, 3000, size=512)
    ws.add(repo, data)
    shutil.rmtree(data)
    _kill_during(
        """
        from pathlib import Path
        from flowtrack.data.repo import DataRepo
        from flowtrack.data import links, workspace, pointer
        original = links.write_atomic
        n = [0]
        def counting(dest, data):
            n[0] += 1
            if n[0] == 100:
                print("halfway", flush=True)
            return original(dest, data)
        links.write_atomic = counting
        repo = DataRepo.find()
        workspace.checkout(repo, pointer.load(Path("big.ft")))
        """,
        repo.root,
        "halfway",
    )
    written = read_tree(data) if data.exists() else {}
    assert all(files[rel] == content for rel, content in written.items() if ".ft-tmp" not in rel)
    repo = DataRepo(repo.root)
    ws.checkout(repo, pointers.load(repo.root / "big.ft"), force=True)
    assert read_tree(data) == files


def test_cli_flow(repo: DataRepo) -> None:
    runner = CliRunner()
    data = repo.root / "data"
    write_tree(data, 4)
    out = runner.invoke(cli, ["data", "add", "data"])
    assert out.exit_code == 0, out.output
    assert "data: 4 files" in out.output and "-> data.ft" in out.output
    assert (
        runner.invoke(cli, ["data", "status"]).output.strip()
        == "Data and pointer files are up to date."
    )
    (data / "part-0/f0000.bin").write_bytes(b"x")
    out = runner.invoke(cli, ["data", "status", "-v"])
    assert "data: 1 modified" in out.output and "modified: part-0/f0000.bin" in out.output
    out = runner.invoke(cli, ["data", "checkout"])
    assert (
        out.exit_code == 1 and "would overwrite or delete changes that are not saved" in out.output
    )
    out = runner.invoke(cli, ["data", "commit"])
    assert "data: recorded" in out.output
    assert (
        runner.invoke(cli, ["data", "status"]).output.strip()
        == "Data and pointer files are up to date."
    )


def test_init_outside_git_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(cli, ["data", "init"])
    assert out.exit_code == 1 and "run `git init` first" in out.output
    out = CliRunner().invoke(cli, ["data", "status"])
    assert out.exit_code == 1 and "run `flowtrack data init`" in out.output


def test_disk_full_during_add_leaves_originals_and_no_pointer(
    repo: DataRepo, tmp_path: Path
) -> None:
    from tests.core.faults import tmpfs

    data = repo.root / "data"
    files = write_tree(data, 200, size=1024)  # 200 KiB: more than the cache's 64 KiB
    with tmpfs(tmp_path / "smallcache", "64k") as small:
        repo.save_config({"cache_dir": str(small)}, local=True)
        full = DataRepo(repo.root)
        with pytest.raises(FlowtrackError, match="No space left on device") as info:
            ws.add(full, data)
        assert "Your files are untouched and no pointer was written" in str(info.value)
        assert read_tree(data) == files
        assert not (repo.root / "data.ft").exists()
        for oid in full.cache.oids():  # what did fit is whole
            assert full.cache.verify(oid)

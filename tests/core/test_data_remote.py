"""flowtrack data remote/push/fetch/pull on a real git repo, a folder remote and moto's S3."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from flowtrack.cli.main import cli
from flowtrack.data import remote as rm
from flowtrack.data import workspace as ws
from flowtrack.data.pointer import Pointer
from flowtrack.data.repo import DataRepo
from flowtrack.errors import InvalidInputError, NotFoundError

from tests.conftest import need_module

SECRET = "testing"


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataRepo:
    root = tmp_path / "proj"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    r = DataRepo.init(root)
    images = root / "data" / "images"
    for i in range(12):
        folder = images / f"part-{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:03d}.bin").write_bytes(f"image {i}\n".encode() * (i + 1))
    (images / "same-a.txt").write_bytes(b"duplicate content")  # two entries, one object
    (images / "same-b.txt").write_bytes(b"duplicate content")
    # Above SMALL_FILE (4 MiB): the large-file paths of hashing and copying.
    (root / "model.bin").write_bytes(os.urandom(5 * 2**20))
    monkeypatch.chdir(root)
    return r


def _add_all(repo: DataRepo) -> list[Pointer]:
    return [
        ws.add(repo, repo.root / "data" / "images", progress=False),
        ws.add(repo, repo.root / "model.bin", progress=False),
    ]


def _objects(repo: DataRepo) -> set[str]:
    return set(repo.cache.oids())


def _remote_objects(base: Path) -> set[str]:
    return {
        p.parent.name + p.name
        for p in (base / "blake3").glob("*/*")
        if p.is_file() and ".tmp-" not in p.name
    }


def _lose_local_copies(repo: DataRepo) -> None:
    shutil.rmtree(repo.cache.root)
    shutil.rmtree(repo.root / "data" / "images")
    (repo.root / "model.bin").unlink()


def ft(*args: str) -> Result:
    return CliRunner().invoke(cli, ["data", *args])


# --- configuration -------------------------------------------------------------------------


def test_remote_config_commands(repo: DataRepo) -> None:
    out = ft("remote", "add", "origin", "/srv/flowtrack")
    assert out.exit_code == 0, out.output
    assert "(default)" in out.output
    assert ft("remote", "add", "backup", "s3://bucket/ft").exit_code == 0
    committed = yaml.safe_load((repo.dir / "config.yaml").read_text())
    assert committed["remotes"] == {
        "origin": {"url": "/srv/flowtrack"},
        "backup": {"url": "s3://bucket/ft"},
    }
    assert committed["default_remote"] == "origin"

    out = ft("remote", "modify", "backup", "secret", "s3cr3t")
    assert out.exit_code == 0
    assert "committed to git" in out.output and "--local" in out.output
    out = ft("remote", "modify", "backup", "key", "AKIA1", "--local")
    assert out.exit_code == 0 and "committed" not in out.output
    assert ft("remote", "modify", "backup", "endpoint_url", "http://127.0.0.1:9").exit_code == 0
    local = yaml.safe_load((repo.dir / "config.local.yaml").read_text())
    assert local == {"remotes": {"backup": {"key": "AKIA1"}}}
    assert (repo.dir / "config.local.yaml").stat().st_mode & 0o077 == 0

    listed = ft("remote", "list").output
    assert "origin\t/srv/flowtrack  (default)" in listed
    assert "endpoint_url: http://127.0.0.1:9" in listed
    assert "AKIA1" not in listed and "s3cr3t" not in listed and "key: ****" in listed

    assert ft("remote", "default", "backup").exit_code == 0
    assert DataRepo(repo.root).config["default_remote"] == "backup"
    out = ft("remote", "remove", "backup")
    assert out.exit_code == 0 and "was the default" in out.output
    config = DataRepo(repo.root).config
    assert set(config["remotes"]) == {"origin"} and "default_remote" not in config
    assert "backup" not in (repo.dir / "config.local.yaml").read_text()


def test_remote_config_errors(repo: DataRepo) -> None:
    with pytest.raises(InvalidInputError, match="letters, digits"):
        rm.add_remote(repo, "bad name", "/x")
    rm.add_remote(repo, "origin", "/x")
    with pytest.raises(InvalidInputError, match="is taken"):
        rm.add_remote(repo, "origin", "/y")
    with pytest.raises(NotFoundError, match="the remotes are: origin"):
        rm.modify_remote(repo, "nope", "key", "v")
    with pytest.raises(InvalidInputError, match="storage option"):
        rm.modify_remote(repo, "origin", "not-an-option", "v")
    with pytest.raises(NotFoundError):
        rm.Remote(repo, "nope")
    rm.remove_remote(repo, "origin")
    with pytest.raises(rm.NoRemoteError, match="no default remote"):
        rm.Remote(repo)
    out = ft("push")
    assert out.exit_code == 1 and "flowtrack data remote add NAME URL" in out.output


# --- a folder remote -----------------------------------------------------------------------


def test_push_then_pull_restores_byte_for_byte(repo: DataRepo, tmp_path: Path) -> None:
    images, model = repo.root / "data" / "images", repo.root / "model.bin"
    before_images, before_model = _tree(images), model.read_bytes()
    _add_all(repo)
    objects = _objects(repo)
    assert len(objects) == 12 + 1 + 1 + 1  # files (two identical), manifest, model
    store = tmp_path / "remote"
    rm.add_remote(repo, "store", str(store))

    out = ft("push", "-j", "3")
    assert out.exit_code == 0, out.output
    assert f"Pushed {len(objects)} objects (5.0 MiB), 0 already there." in out.output
    assert _remote_objects(store) == objects  # the cache's layout: <algo>/<2 hex>/<rest>
    for oid in objects:
        assert (store / "blake3" / oid[:2] / oid[2:]).read_bytes() == (
            repo.cache.path(oid).read_bytes()
        )

    again = ft("push")
    assert again.exit_code == 0
    assert f"Pushed 0 objects (0.0 MiB), {len(objects)} already there." in again.output

    _lose_local_copies(repo)
    out = ft("pull")
    assert out.exit_code == 0, out.output
    assert f"Fetched {len(objects)} objects" in out.output and "Checked out 15 files" in out.output
    assert _tree(images) == before_images
    assert model.read_bytes() == before_model
    assert _objects(DataRepo(repo.root)) == objects
    assert ws.status(repo, ws.find_pointers(repo, [images])[0]).clean

    out = ft("fetch")
    assert "Fetched 0 objects (0.0 MiB), 15 already there." in out.output


def test_fetch_and_push_of_one_target(repo: DataRepo, tmp_path: Path) -> None:
    pointers = _add_all(repo)
    rm.add_remote(repo, "store", str(tmp_path / "remote"))
    remote = rm.Remote(repo)
    result = rm.push(repo, [pointers[1]], remote, progress=False)
    assert (result.transferred, result.present, result.ok) == (1, 0, True)
    assert _remote_objects(tmp_path / "remote") == {pointers[1].hash}
    shutil.rmtree(repo.cache.root)
    fetched = rm.fetch(repo, [pointers[1]], remote, jobs=1, progress=False)
    assert (fetched.transferred, fetched.size) == (1, 5 * 2**20)
    assert _objects(repo) == {pointers[1].hash}


def test_interrupted_push_resumes_and_manifest_comes_last(
    repo: DataRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = _add_all(repo)[0]
    entries = {e.hash for e in repo.cache.read_manifest(images.hash).entries}
    store = tmp_path / "remote"
    rm.add_remote(repo, "store", str(store))
    remote = rm.Remote(repo)

    # The connection drops for a few objects: the rest is pushed, the manifest is not.
    real_upload = rm.Remote.upload_bytes  # small objects: all of these
    dropped = sorted(entries)[:3]

    def flaky(self: rm.Remote, data: bytes, oid: str) -> None:
        if oid in dropped:
            raise ConnectionResetError("connection reset by peer")
        real_upload(self, data, oid)

    monkeypatch.setattr(rm.Remote, "upload_bytes", flaky)
    first = rm.push(repo, [images], remote, progress=False)
    assert not first.ok
    assert sorted(oid for oid, _ in first.failed) == dropped
    assert "connection reset" in first.problems()[0] and "again to resume" in first.problems()[0]
    assert _remote_objects(store) == entries - set(dropped)  # no manifest, no temp files
    assert not list(store.rglob("*.tmp-*"))

    monkeypatch.setattr(rm.Remote, "upload_bytes", real_upload)
    second = rm.push(repo, [images], remote, progress=False)
    assert second.ok
    assert (second.transferred, second.present) == (len(dropped) + 1, len(entries) - 3)
    assert _remote_objects(store) == entries | {images.hash}

    # Objects lost from the remote are found by the listing and sent again.
    for oid in dropped[:2]:
        (store / "blake3" / oid[:2] / oid[2:]).unlink()
    third = rm.push(repo, [images], remote, progress=False)
    assert (third.transferred, third.present) == (2, len(entries) - 2 + 1)


def test_push_reports_objects_missing_from_the_cache(repo: DataRepo, tmp_path: Path) -> None:
    images, model = _add_all(repo)
    lost = sorted(e.hash for e in repo.cache.read_manifest(images.hash).entries)[0]
    repo.cache.remove(lost)
    store = tmp_path / "remote"
    rm.add_remote(repo, "store", str(store))
    out = ft("push")
    assert out.exit_code == 1
    assert "1 objects are not in the cache" in out.output and "flowtrack data pull" in out.output
    # Everything else went; the folder's manifest did not, as the folder is incomplete there.
    assert _remote_objects(store) == _objects(repo) - {images.hash}
    assert model.hash in _remote_objects(store)


# --- corruption ----------------------------------------------------------------------------


def test_corrupted_remote_object_is_rejected_and_not_checked_out(
    repo: DataRepo, tmp_path: Path
) -> None:
    images, _ = _add_all(repo)
    store = tmp_path / "remote"
    rm.add_remote(repo, "store", str(store))
    assert ft("push").exit_code == 0
    bad = repo.cache.read_manifest(images.hash).by_path()["part-1/f004.bin"].hash
    (store / "blake3" / bad[:2] / bad[2:]).write_bytes(b"bit rot")
    _lose_local_copies(repo)

    out = ft("pull")
    assert out.exit_code == 1
    assert "1 objects on remote store are corrupted" in out.output and bad in out.output
    assert "data/images: not checked out" in out.output
    fresh = DataRepo(repo.root)
    assert not fresh.cache.has(bad)  # rejected: never got its name in the cache
    assert not list(fresh.cache.tmp.iterdir())  # and its download was removed
    assert len(_objects(fresh)) == 14
    assert not (repo.root / "data" / "images").exists()
    assert (repo.root / "model.bin").exists()  # complete data is still checked out

    fetch = rm.fetch(fresh, [images], rm.Remote(fresh), progress=False)
    assert fetch.corrupted == [bad] and fetch.incomplete == [images]


def test_corrupted_remote_manifest_is_rejected(repo: DataRepo, tmp_path: Path) -> None:
    images, _ = _add_all(repo)
    store = tmp_path / "remote"
    rm.add_remote(repo, "store", str(store))
    rm.push(repo, [images], rm.Remote(repo), progress=False)
    (store / "blake3" / images.hash[:2] / images.hash[2:]).write_bytes(b"[]")
    shutil.rmtree(repo.cache.root)
    result = rm.fetch(repo, [images], rm.Remote(repo), progress=False)
    assert result.corrupted == [images.hash] and result.transferred == 0
    assert _objects(repo) == set()


def test_fetch_reports_objects_missing_on_the_remote(repo: DataRepo, tmp_path: Path) -> None:
    images, model = _add_all(repo)
    rm.add_remote(repo, "store", str(tmp_path / "remote"))
    rm.push(repo, [images], rm.Remote(repo), progress=False)
    shutil.rmtree(repo.cache.root)
    out = ft("fetch")
    assert out.exit_code == 1
    assert "1 objects are not on remote store" in out.output and model.hash in out.output
    assert len(_objects(repo)) == 14


# --- S3, on moto's server on loopback --------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    need_module("s3fs")
    boto3 = need_module("boto3")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=SECRET,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="flowtrack-test")
    yield endpoint
    server.stop()


def test_push_and_pull_through_s3(repo: DataRepo, s3_endpoint: str) -> None:
    images, model = repo.root / "data" / "images", repo.root / "model.bin"
    before_images, before_model = _tree(images), model.read_bytes()
    _add_all(repo)
    objects = _objects(repo)
    for args in (
        ("remote", "add", "s3", "s3://flowtrack-test/ft"),
        ("remote", "modify", "s3", "endpoint_url", s3_endpoint),
        ("remote", "modify", "s3", "key", SECRET, "--local"),
        ("remote", "modify", "s3", "secret", SECRET, "--local"),
    ):
        out = ft(*args)
        assert out.exit_code == 0 and "Warning" not in out.output, out.output

    out = ft("push")
    assert out.exit_code == 0, out.output
    assert f"Pushed {len(objects)} objects (5.0 MiB), 0 already there." in out.output
    remote = rm.Remote(DataRepo(repo.root))  # the CLI changed the config on disk
    listed = remote.fs.find("flowtrack-test/ft", refresh=True)
    assert {p.removeprefix("flowtrack-test/ft/blake3/").replace("/", "") for p in listed} == (
        objects
    )
    assert remote.existing(objects) == objects
    assert ft("push").output.startswith(f"Pushed 0 objects (0.0 MiB), {len(objects)} already")

    _lose_local_copies(repo)
    out = ft("pull", "-j", "8")
    assert out.exit_code == 0, out.output
    assert _tree(images) == before_images
    assert model.read_bytes() == before_model


def test_push_to_a_missing_bucket_fails_clearly(repo: DataRepo, s3_endpoint: str) -> None:
    _add_all(repo)
    rm.add_remote(repo, "s3", "s3://no-such-bucket/ft")
    for option in ("endpoint_url", "key", "secret"):
        value = s3_endpoint if option == "endpoint_url" else SECRET
        rm.modify_remote(repo, "s3", option, value, local=True)
    result = rm.push(repo, ws.find_pointers(repo), rm.Remote(repo), progress=False)
    assert result.transferred == 0 and not result.missing
    images = ws.find_pointers(repo)[0]
    # 14 files failed; the manifest was not even tried, as its folder is not complete there.
    assert len(result.failed) == 14 and images.hash not in dict(result.failed)
    assert "does its bucket exist?" in result.problems()[0]


def test_verify_remote_reports_corrupted_objects(repo: DataRepo, tmp_path: Path) -> None:
    images, _ = _add_all(repo)
    store = tmp_path / "remote"
    rm.add_remote(repo, "store", str(store))
    assert ft("push").exit_code == 0
    count = len(_remote_objects(store))
    out = ft("verify", "-r", "store")
    assert out.exit_code == 0, out.output
    assert f"All {count} objects on remote store match their hashes." in out.output

    bad = repo.cache.read_manifest(images.hash).by_path()["part-2/f005.bin"].hash
    (store / "blake3" / bad[:2] / bad[2:]).write_bytes(b"bit rot")
    (store / "blake3" / bad[:2] / f".{bad[2:]}.tmp-deadbeef0000").write_bytes(b"half")
    out = ft("verify", "-r", "store")
    assert out.exit_code == 1
    assert f"corrupted on store: {bad}" in out.output
    assert f"1 of {count} objects on remote store are corrupted" in out.output
    assert "All cache objects match their hashes." in out.output  # the cache is fine


def test_verify_remote_through_s3(repo: DataRepo, s3_endpoint: str) -> None:
    _add_all(repo)
    for args in (
        ("remote", "add", "s3v", "s3://flowtrack-test/verify"),
        ("remote", "modify", "s3v", "endpoint_url", s3_endpoint),
        ("remote", "modify", "s3v", "key", SECRET, "--local"),
        ("remote", "modify", "s3v", "secret", SECRET, "--local"),
    ):
        assert ft(*args).exit_code == 0
    assert ft("push", "-r", "s3v").exit_code == 0
    out = ft("verify", "-r", "s3v")
    assert out.exit_code == 0, out.output
    assert f"All {len(_objects(repo))} objects on remote s3v match their hashes." in out.output


def _many_files(repo: DataRepo, n: int = 400) -> dict[str, bytes]:
    folder = repo.root / "many"
    for i in range(n):
        (folder / f"g{i % 7}").mkdir(parents=True, exist_ok=True)
        (folder / f"g{i % 7}" / f"x{i:04d}.bin").write_bytes(f"record {i}\n".encode() * 50)
    return _tree(folder)


@pytest.mark.slow
def test_kill_during_push_then_rerun_completes(repo: DataRepo, tmp_path: Path) -> None:
    from tests.core.test_data_workspace import _kill_during

    before = _many_files(repo)
    ptr = ws.add(repo, repo.root / "many", progress=False)
    store = tmp_path / "remote"
    rm.add_remote(repo, "store", str(store))
    _kill_during(
        """
        import time
        from flowtrack.data import remote as rm
        from flowtrack.data.repo import DataRepo
        from flowtrack.data import workspace as ws
        original = rm.Remote.upload_bytes
        count = [0]
        def upload(self, data, oid):
            count[0] += 1
            if count[0] >= 50:
                # Park every worker here: the kill lands mid-transfer however fast the
                # machine is (a quick one finished the rest before the kill arrived).
                print("halfway", flush=True)
                time.sleep(600)
            return original(self, data, oid)
        rm.Remote.upload_bytes = upload
        repo = DataRepo.find()
        rm.push(repo, ws.find_pointers(repo), rm.Remote(repo), jobs=2, progress=False)
        """,
        repo.root,
        "halfway",
    )
    partial = _remote_objects(store)
    assert ptr.hash not in partial  # the manifest comes last: the folder is not on the remote
    out = ft("push")
    assert out.exit_code == 0, out.output
    assert _remote_objects(store) == _objects(repo)
    assert ft("verify", "-r", "store").exit_code == 0  # nothing partial under a final name
    _lose_local_copies_many(repo)
    assert ft("pull").exit_code == 0
    assert _tree(repo.root / "many") == before


def _lose_local_copies_many(repo: DataRepo) -> None:
    shutil.rmtree(repo.cache.root)
    shutil.rmtree(repo.root / "many")


@pytest.mark.slow
def test_kill_during_pull_then_rerun_completes(repo: DataRepo, tmp_path: Path) -> None:
    from tests.core.test_data_workspace import _kill_during

    before = _many_files(repo)
    ws.add(repo, repo.root / "many", progress=False)
    rm.add_remote(repo, "store", str(tmp_path / "remote"))
    assert ft("push").exit_code == 0
    _lose_local_copies_many(repo)
    _kill_during(
        """
        import time
        from flowtrack.data import remote as rm
        from flowtrack.data.repo import DataRepo
        from flowtrack.data import workspace as ws
        original = rm.Remote.download
        count = [0]
        def download(self, oid, dest):
            count[0] += 1
            if count[0] >= 50:
                # Park every worker here: the kill lands mid-transfer however fast the
                # machine is (a quick one finished the rest before the kill arrived).
                print("halfway", flush=True)
                time.sleep(600)
            return original(self, oid, dest)
        rm.Remote.download = download
        repo = DataRepo.find()
        rm.pull(repo, ws.find_pointers(repo), rm.Remote(repo), jobs=2, progress=False)
        """,
        repo.root,
        "halfway",
    )
    fresh = DataRepo(repo.root)
    assert all(fresh.cache.verify(oid) for oid in fresh.cache.oids())  # no partial objects
    out = ft("pull")
    assert out.exit_code == 0, out.output
    assert _tree(repo.root / "many") == before

"""Request hardening through a real uvicorn: artifact path traversal (every variant of MLflow's
CVE list is a 400 and nothing outside the store is read or written), the Host allow-list,
body limits (413), CORS off by default, cross-origin writes, security headers."""

from __future__ import annotations

import os
from pathlib import Path

import flowtrack
import pytest
from flowtrack.errors import InvalidInputError
from flowtrack.server import hardening
from flowtrack.server.auth import accounts, credentials
from flowtrack.server.hardening import Settings, contained_local_path, safe_artifact_path

from tests.core.authapp import build_app, serve

ADMIN = ("root", "root password 1")
ENV = {"FLOWTRACK_ADMIN_USERNAME": ADMIN[0], "FLOWTRACK_ADMIN_PASSWORD": ADMIN[1]}
ART = "/api/2.0/mlflow-artifacts/artifacts/"

# As sent on the wire, after the artifact route's prefix.
TRAVERSALS = [
    "../../outside.txt",
    "0/../../../outside.txt",
    "0/./../../outside.txt",
    "%2e%2e/%2e%2e/outside.txt",
    "%2E%2E%2F%2E%2E%2Foutside.txt",
    "%252e%252e/%252e%252e/outside.txt",
    "%25252e%25252e%25252fx",
    "%2525252e%2525252e/outside.txt",
    "..%2f..%2foutside.txt",
    "..%252f..%252foutside.txt",
    "..%5c..%5coutside.txt",
    "..%255c..%255coutside.txt",
    "0/%5c%5cserver%5cshare",
    "%2fetc%2fpasswd",
    "%252fetc%252fpasswd",
    "/etc/passwd",
    "0/x%00.txt",
    "0/x%2500.txt",
    "0/a%23/../../outside.txt",
    "0/a%2523/x",
    "0/..;/..;/outside.txt",
    "0/x;jsessionid=..%2f..%2foutside",
    "0/x%3b/../../outside.txt",
    "0/x%3fversionId=1",
    "file:%2f%2f%2fetc%2fpasswd",
    "file:/etc/passwd",
    "file:%2fetc%2fpasswd",
    "s3:%2f%2fbucket%2fkey",
    "s3:bucket/key",
    "http:%2f%2f169.254.169.254%2flatest",
    "C:%5cWindows%5cwin.ini",
    "c:/windows/win.ini",
    "~/.ssh/id_rsa",
    "0/%ef%bc%8e%ef%bc%8e/%ef%bc%8e%ef%bc%8e/outside.txt",
    "0/%0d%0aSet-Cookie:x",
]


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credentials, "SCRYPT_COST", (2**10, 8, 1))


@pytest.fixture
def store(ft_home: Path) -> object:
    flowtrack.set_tracking_uri(f"sqlite:///{ft_home / 'flowtrack.db'}")
    store = flowtrack.Client().store
    store.get_or_create_experiment("Default")
    return store


def _snapshot(top: Path, skip: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            path = Path(dirpath) / name
            if skip in path.parents or path.suffix in (".db-wal", ".db-shm", ".lock"):
                continue
            stat = path.stat()
            out[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return out


@pytest.mark.parametrize("with_auth", [True, False])
def test_every_traversal_variant_is_a_400_and_nothing_escapes(
    store: object, tmp_path: Path, with_auth: bool
) -> None:
    root = tmp_path / "store" / "artifacts"
    (root / "0").mkdir(parents=True)
    (root / "0" / "inside.txt").write_bytes(b"inside")
    (tmp_path / "store" / "outside.txt").write_bytes(b"secret")
    (tmp_path / "outside.txt").write_bytes(b"secret")
    before = _snapshot(tmp_path, root)
    app = build_app(store, root, with_auth=with_auth, environ=ENV)  # type: ignore[arg-type]
    admin = ADMIN if with_auth else None  # an admin passes every permission check
    with serve(app) as client:
        assert client.request("GET", ART + "0/inside.txt", user=admin).body == b"inside"
        for raw in TRAVERSALS:
            for method in ("PUT", "GET"):
                reply = client.request(method, ART + raw, user=admin, body=b"pwned")
                assert reply.status == 400, (method, raw, reply.status, reply.body)
                assert b"secret" not in reply.body
            listed = client.request("GET", f"/api/2.0/mlflow/artifacts/list?path={raw}", user=admin)
            assert listed.status == 400, (raw, listed.body)
        # The permission check decodes the same way: a non-admin gets the 400 too, not a 403
        # (nor a pass decided on a different reading of the path).
        if with_auth:
            accounts.create_user(app.state.flowtrack.auth.repo, "eve", "eve password 1")
            for raw in ("0/../1/x", "%2e%2e/x", "0/%252e%252e/x"):
                assert (
                    client.request(
                        "PUT", ART + raw, user=("eve", "eve password 1"), body=b"x"
                    ).status
                    == 400
                )
    assert _snapshot(tmp_path, root) == before
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["0", "0/inside.txt"]


def test_symlinks_out_of_the_root_are_refused(store: object, tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    (root / "0").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("secret")
    (root / "0" / "link").symlink_to(tmp_path)
    app = build_app(store, root, with_auth=False)  # type: ignore[arg-type]
    with serve(app) as client:
        assert client.request("GET", ART + "0/link/secret.txt").status == 400
        assert client.request("PUT", ART + "0/link/new.txt", body=b"x").status == 400
    assert not (tmp_path / "new.txt").exists()


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("", ""),
        ("model/model.pkl", "model/model.pkl"),
        ("0/run/artifacts/a b.txt", "0/run/artifacts/a b.txt"),
        ("./a//b/./c/", "a/b/c"),
        ("a%20b", "a b"),
        ("100%", "100%"),
        ("models/churn:v1.txt", "models/churn:v1.txt"),  # a colon is fine after the start
        ("naïve/日本.txt", "naïve/日本.txt"),
        ("a..b/..c/d..", "a..b/..c/d.."),
    ],
)
def test_safe_paths_pass_normalized(raw: str, clean: str) -> None:
    assert safe_artifact_path(raw) == clean
    assert safe_artifact_path(clean) == clean


@pytest.mark.parametrize("raw", [*TRAVERSALS, "..", "a/..", "x\\y", "a\x00b", "a#b", "a;b", "a?b"])
def test_safe_artifact_path_refuses(raw: str) -> None:
    from urllib.parse import unquote

    # What a route sees: the server decoded the URL once already.
    for given in (raw, unquote(raw)):
        with pytest.raises(InvalidInputError, match="artifact path"):
            safe_artifact_path(given)


def test_safe_artifact_path_edge_cases(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="too many times"):
        safe_artifact_path("%252525252e")
    with pytest.raises(InvalidInputError, match="4096"):
        safe_artifact_path("a/" * 3000)
    with pytest.raises(InvalidInputError, match="string"):
        safe_artifact_path(b"../x")
    assert contained_local_path(tmp_path, "") == tmp_path.resolve()
    assert contained_local_path(tmp_path, "a/b") == tmp_path.resolve() / "a" / "b"


# -- Host header ----------------------------------------------------------------------------------


def test_host_allow_list(store: object, tmp_path: Path) -> None:
    app = build_app(store, tmp_path / "a", with_auth=False)  # type: ignore[arg-type]
    with serve(app) as client:
        port = client.port
        for good in (
            f"127.0.0.1:{port}",
            f"localhost:{port}",
            "localhost",
            f"[::1]:{port}",
            "LOCALHOST.",
            "127.0.0.1",
        ):
            assert client.request("GET", "/health", host=good).status == 200, good
        for bad in (
            "evil.example",
            f"evil.example:{port}",
            "127.0.0.1.nip.io",
            "localhost.evil.example",
            "10.0.0.5",
            "",
            "a b",
            "[::1",
            "local host:80",
            "localhost:port",
        ):
            reply = client.request("GET", "/health", host=bad)
            assert reply.status == 400, bad
            assert "--allowed-hosts" in reply.json()["message"]
        # With auth on too, the Host check comes first (before any 401).
        assert client.request("GET", "/api/v1/experiments/0", host="evil.example").status == 400


def test_allowed_hosts_extend_and_wildcard_binds() -> None:
    plain = Settings()
    assert plain.host_allowed("localhost:5000") and not plain.host_allowed("ml.corp")
    assert not plain.host_allowed(None)
    extended = Settings.from_options(allowed_hosts="ml.corp, *.team.corp,10.1.2.3:5000")
    assert extended.host_allowed("ml.corp:5000") and extended.host_allowed("a.team.corp")
    assert extended.host_allowed("10.1.2.3:5000") and not extended.host_allowed("10.1.2.3:6000")
    assert not extended.host_allowed("team.corp.evil.example")
    everyone = Settings(allowed_hosts=("*",))
    assert everyone.host_allowed("anything.example")
    # Bound to all interfaces: the machine's IPs work (a rebinding attack needs a name), names
    # must still be listed.
    wide = Settings.from_options(host="0.0.0.0")
    assert wide.host_allowed("192.168.1.20:5000") and wide.host_allowed("[fe80::1]:5000")
    assert not wide.host_allowed("attacker.example")
    assert Settings(bind_host="10.0.0.5").host_allowed("10.0.0.5:5000")
    assert not Settings(bind_host="10.0.0.5").host_allowed("10.0.0.6:5000")


# -- body size ------------------------------------------------------------------------------------


def test_body_limits(store: object, tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    settings = Settings.from_options(max_body="4KiB", max_json_body="1KiB")
    app = build_app(store, root, with_auth=False, settings=settings)  # type: ignore[arg-type]
    with serve(app) as client:
        small_json = {"experiment_id": "0", "pad": "x" * 500}
        assert client.request("POST", "/api/2.0/mlflow/runs/create", body=small_json).status == 200
        big_json = {"experiment_id": "0", "pad": "x" * 2000}
        reply = client.request("POST", "/api/2.0/mlflow/runs/create", body=big_json)
        assert reply.status == 413 and "1024 bytes" in reply.json()["message"]
        # Without Content-Length (chunked), the count while streaming catches it.
        chunked = client.request(
            "POST",
            "/api/2.0/mlflow/runs/create",
            chunks=[b'{"experiment_id": "0", "p": "'] + [b"x" * 200] * 10 + [b'"}'],
            headers={"Content-Type": "application/json"},
        )
        assert chunked.status == 413
        # Artifact uploads get the larger limit.
        assert client.request("PUT", ART + "0/ok.bin", body=b"x" * 3000).status == 200
        assert client.request("PUT", ART + "0/big.bin", body=b"x" * 5000).status == 413
        streamed = client.request("PUT", ART + "0/stream.bin", chunks=[b"x" * 1000] * 6)
        assert streamed.status == 413
        assert (
            client.request("PUT", ART + "0/x", body=b"x", headers={"Content-Length": "1e3"}).status
            == 400
        )
    assert sorted(p.name for p in (root / "0").iterdir()) == ["ok.bin"]
    assert hardening.parse_size("1GiB") == 1 << 30 and hardening.parse_size("16M") == 16 << 20
    with pytest.raises(InvalidInputError, match="size"):
        hardening.parse_size("lots")


# -- CORS, cross-origin writes, headers -----------------------------------------------------------


def test_cors_is_off_by_default_and_cross_origin_writes_are_refused(
    store: object, tmp_path: Path
) -> None:
    app = build_app(store, tmp_path / "a", with_auth=False)  # type: ignore[arg-type]
    with serve(app) as client:
        evil = {"Origin": "https://evil.example"}
        read = client.request("GET", "/api/v1/experiments/0", headers=evil)
        assert read.status == 200 and "access-control-allow-origin" not in read.headers
        pre = client.request(
            "OPTIONS",
            "/api/2.0/mlflow/runs/create",
            headers={**evil, "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in pre.headers
        body = {"experiment_id": "0"}
        write = client.request("POST", "/api/2.0/mlflow/runs/create", headers=evil, body=body)
        assert write.status == 403 and "CORS_ALLOWED_ORIGINS" in write.json()["message"]
        same = {"Origin": f"http://127.0.0.1:{client.port}"}
        assert (
            client.request("POST", "/api/2.0/mlflow/runs/create", headers=same, body=body).status
            == 200
        )


def test_cors_opt_in(store: object, tmp_path: Path) -> None:
    settings = Settings.from_options(cors_origins="https://nb.corp")
    app = build_app(store, tmp_path / "a", with_auth=True, environ=ENV, settings=settings)  # type: ignore[arg-type]
    with serve(app) as client:
        origin = {"Origin": "https://nb.corp"}
        pre = client.request(
            "OPTIONS",
            "/api/2.0/mlflow/runs/create",
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert pre.status == 200  # preflights carry no credentials: answered before auth
        assert pre.headers["access-control-allow-origin"] == "https://nb.corp"
        done = client.request(
            "POST",
            "/api/2.0/mlflow/runs/create",
            headers=origin,
            user=ADMIN,
            body={"experiment_id": "0"},
        )
        assert done.status == 200
        assert done.headers["access-control-allow-origin"] == "https://nb.corp"
        other = client.request(
            "POST",
            "/api/2.0/mlflow/runs/create",
            user=ADMIN,
            headers={"Origin": "https://evil.example"},
            body={"experiment_id": "0"},
        )
        assert other.status == 403


def test_security_headers_everywhere(store: object, tmp_path: Path) -> None:
    app = build_app(store, tmp_path / "a", with_auth=True, environ=ENV)  # type: ignore[arg-type]
    with serve(app) as client:
        replies = {
            "ok": client.request("GET", "/health"),
            "401": client.request("GET", "/api/v1/experiments/0"),
            "404": client.request("GET", "/nowhere", user=ADMIN),
            "400": client.request("GET", "/health", host="evil.example"),
            "artifact": client.request("GET", ART + "0/none.txt", user=ADMIN),
            "docs": client.request("GET", "/docs", user=ADMIN),
        }
        for what, reply in replies.items():
            assert reply.headers["x-content-type-options"] == "nosniff", what
            assert reply.headers["x-frame-options"] == "DENY", what
            assert "frame-ancestors 'none'" in reply.headers["content-security-policy"] or (
                "sandbox" in reply.headers["content-security-policy"]
            ), what
        assert "sandbox" in replies["artifact"].headers["content-security-policy"]
        assert "cdn.jsdelivr.net" in replies["docs"].headers["content-security-policy"]
        assert "cdn.jsdelivr.net" not in replies["ok"].headers["content-security-policy"]


def test_settings_from_the_environment() -> None:
    env = {
        "FLOWTRACK_ALLOWED_HOSTS": "ml.corp",
        "FLOWTRACK_CORS_ALLOWED_ORIGINS": "https://nb.corp,https://b.corp",
        "FLOWTRACK_MAX_BODY_SIZE": "2GiB",
        "FLOWTRACK_MAX_JSON_BODY_SIZE": "1MiB",
    }
    settings = Settings.from_options(allowed_hosts=["other.corp"], environ=env)
    assert settings.host_allowed("ml.corp") and settings.host_allowed("other.corp")
    assert settings.cors_origins == ("https://nb.corp", "https://b.corp")
    assert (settings.max_body_bytes, settings.max_json_body_bytes) == (2 << 30, 1 << 20)
    # Options win over the environment; nothing set gives the documented defaults.
    assert Settings.from_options(max_body="1MiB", environ=env).max_body_bytes == 1 << 20
    plain = Settings.from_options(environ={})
    assert (plain.max_body_bytes, plain.max_json_body_bytes) == (1 << 30, 16 << 20)
    assert plain.cors_origins == ()

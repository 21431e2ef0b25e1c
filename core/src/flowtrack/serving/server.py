"""``flowtrack models serve``: resolve and load the model, then run the app under uvicorn."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import socket
import sys

from flowtrack.errors import FlowtrackError, InvalidInputError
from flowtrack.serving.model import ServedModel, open_model


def check_port(host: str, port: int) -> None:
    """Fail before loading anything else when the address is taken or not ours."""
    if not 0 <= port <= 65535:
        raise InvalidInputError("--port", port, "must be between 0 and 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # The same option uvicorn sets, so a port in TIME_WAIT is not reported as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise FlowtrackError(
                    f"port {port} on {host} is in use; pick another with --port"
                ) from None
            raise FlowtrackError(
                f"cannot listen on {host}:{port} ({exc.strerror}); check --host"
            ) from None


def serve(
    model_uri: str,
    host: str = "127.0.0.1",
    port: int = 5001,
    workers: int = 1,
    access_log: bool = False,
    log_level: str = "info",
) -> None:
    """Serve ``model_uri`` until interrupted. The model is resolved, downloaded and verified
    here, before the port is opened, so a bad URI fails at once with the reason."""
    import uvicorn

    if workers < 1:
        raise InvalidInputError("--workers", workers, "must be 1 or more")
    check_port(host, port)
    served = open_model(model_uri)
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    print(f"Serving {_describe(served)} on {where}: POST {where}/invocations", file=sys.stderr)
    if workers == 1:
        from flowtrack.serving.app import create_app

        # No Server header: one more write per response that tells a client nothing useful.
        uvicorn.run(
            create_app(served),
            host=host,
            port=port,
            access_log=access_log,
            log_level=log_level,
            server_header=False,
        )
        return
    from flowtrack.serving.app import ENV_MODEL_INFO, ENV_MODEL_PATH

    # Each worker is a fresh process: it loads the local copy this process verified (kept
    # alive by `served` until uvicorn returns) and serves the version resolved here.
    info: dict[str, object] = {"uri": model_uri, "version": None}
    if served.version is not None:
        info["version"] = dataclasses.asdict(served.version)
    os.environ[ENV_MODEL_PATH] = str(served.model.path)
    os.environ[ENV_MODEL_INFO] = json.dumps(info)
    uvicorn.run(
        "flowtrack.serving.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        access_log=access_log,
        log_level=log_level,
        server_header=False,
    )


def _describe(served: ServedModel) -> str:
    manifest = served.model.metadata
    text = f"{served.uri} ({manifest.flavor}"
    if served.version is not None:
        text += f", {served.version.name} version {served.version.version}"
    return text + ")"

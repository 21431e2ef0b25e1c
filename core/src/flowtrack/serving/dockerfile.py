"""``flowtrack models dockerfile``: a Docker build context that serves one model.

The context holds the model (copied and verified against its manifest: nothing is unpickled
here), ``requirements.txt`` (the model's pinned requirements and the server's), flowtrack
itself (a wheel built from the installed source, or a pin when flowtrack came from an index)
and a ``Dockerfile`` whose entrypoint is ``flowtrack models serve /opt/model``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flowtrack import __version__
from flowtrack.errors import FlowtrackError, InvalidInputError
from flowtrack.models.files import ModelFiles
from flowtrack.models.manifest import MANIFEST_NAME, ModelManifest
from flowtrack.models.requirements import canonical, pin

PORT = 8080
MODEL_DIR = "/opt/model"
# What the server needs beyond flowtrack's own dependencies; the speed-ups only if installed.
SERVER_PACKAGES = ("fastapi", "uvicorn", "starlette", "orjson")
SPEEDUPS = ("httptools", "uvloop")


@dataclass(frozen=True, slots=True)
class BuildContext:
    path: Path
    base_image: str
    flowtrack: str  # the wheel's file name, or the pin used instead
    requirements: tuple[str, ...]


def write_context(model_uri: str, output: Path, base_image: str | None = None) -> BuildContext:
    """Write the build context into ``output`` (a new or empty folder). It is assembled
    beside it and renamed into place, so ``output`` holds a complete context or nothing."""
    output = Path(output).expanduser()
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise InvalidInputError("--output", str(output), "is not empty; give a new or empty folder")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.parent / f".{output.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        label, manifest = _copy_model(model_uri, tmp / "model")
        image = base_image or _base_image(manifest)
        flowtrack = _flowtrack(tmp / "wheels")
        requirements = _requirements(manifest, flowtrack)
        (tmp / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
        dockerfile = render(model_uri, label, manifest, image, flowtrack)
        (tmp / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        (tmp / ".dockerignore").write_text("**/__pycache__\n", encoding="utf-8")
        if output.exists():
            output.rmdir()
        tmp.rename(output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildContext(output, image, flowtrack, tuple(requirements))


def _copy_model(model_uri: str, target: Path) -> tuple[str, ModelManifest]:
    """Copy the manifest and the files it lists (checked first, and the copy again)."""
    from flowtrack.models import uris

    label = model_uri
    location = model_uri
    if model_uri.startswith("models:/"):
        from flowtrack.registry.uris import resolve_model_uri

        version, location = resolve_model_uri(model_uri)
        label = f"{model_uri} ({version.name} version {version.version})"
    source = uris.fetch(location)
    try:
        files = ModelFiles.open(source.path)
        target.mkdir()
        shutil.copyfile(source.path / MANIFEST_NAME, target / MANIFEST_NAME)
        for name in files.names:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(files.path(name), target / name)
    finally:
        source.discard()
    return label, ModelFiles.open(target).manifest


def _base_image(manifest: ModelManifest) -> str:
    # The Python the model was saved with: pickles are safest read by the same minor version.
    parts = manifest.python_version.split(".")
    if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]):
        return f"python:{parts[0]}.{parts[1]}-slim"
    return f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"


def flowtrack_source() -> Path | None:
    """The source folder flowtrack is installed from (editable or a local folder), or None
    when it was installed from a wheel or an index."""
    try:
        text = metadata.distribution("flowtrack").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    info = json.loads(text)
    url = str(info.get("url", ""))
    if "dir_info" not in info or not url.startswith("file://"):
        return None
    path = Path(unquote(urlsplit(url).path))
    return path if (path / "pyproject.toml").is_file() else None


def _flowtrack(wheels: Path) -> str:
    source = flowtrack_source()
    if source is None:
        return f"flowtrack=={__version__}"
    wheels.mkdir()
    done = subprocess.run(  # noqa: S603 - this Python's pip; the source folder is data
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), source],
        capture_output=True,
        text=True,
        check=False,
    )
    built = sorted(wheels.glob("flowtrack-*.whl"))
    if done.returncode != 0 or not built:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise FlowtrackError(
            f"could not build a wheel of flowtrack from {source} (pip wheel exited "
            f"{done.returncode}): {tail}. Check that pip can reach the package index for "
            "the build backend (hatchling)"
        )
    return built[-1].name


def _requirements(manifest: ModelManifest, flowtrack: str) -> list[str]:
    """The model's pins, without flowtrack (the wheel is the flowtrack to use), then the
    server's packages pinned to the versions installed here."""
    chosen: dict[str, str] = {}
    if flowtrack.startswith("flowtrack=="):
        chosen["flowtrack"] = flowtrack
    for requirement in manifest.requirements:
        name = canonical(re.split(r"[\s<>=!~;\[@(]", requirement.strip(), maxsplit=1)[0])
        if name != "flowtrack":
            chosen.setdefault(name, requirement)
    for name in (*SERVER_PACKAGES, *SPEEDUPS):
        pinned = pin(name)
        if pinned is not None:
            chosen.setdefault(canonical(name), pinned)
        elif name in SERVER_PACKAGES:
            chosen.setdefault(canonical(name), name)
    return list(chosen.values())


def render(model_uri: str, label: str, manifest: ModelManifest, image: str, flowtrack: str) -> str:
    wheel = not flowtrack.startswith("flowtrack==")
    install = (
        f"/opt/wheels/{flowtrack} -r /opt/requirements.txt" if wheel else "-r /opt/requirements.txt"
    )
    entrypoint = json.dumps(
        ["flowtrack", "models", "serve", MODEL_DIR, "--host", "0.0.0.0", "--port", str(PORT)]  # noqa: S104
    )
    health = json.dumps(
        [
            "python",
            "-c",
            f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}/ping', "
            "timeout=4)",
        ]
    )
    lines = [
        "# syntax=docker/dockerfile:1",
        f"# Written by `flowtrack models dockerfile` (flowtrack {__version__}) for {label}.",
        "#   docker build -t my-model . && docker run --rm -p 8080:8080 my-model",
        f"FROM {image}",
        "",
        "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1",
        f"LABEL dev.flowtrack.model-uri={json.dumps(model_uri)} \\",
        f"      dev.flowtrack.model-uuid={json.dumps(manifest.model_uuid)} \\",
        f"      dev.flowtrack.flavor={json.dumps(manifest.flavor)}",
        "",
        "# The server runs as this user; the model files stay owned by root, read-only to it.",
        "RUN useradd --create-home --uid 10001 --user-group flowtrack",
        "",
        "COPY requirements.txt /opt/requirements.txt",
    ]
    if wheel:
        lines.append("COPY wheels/ /opt/wheels/")
    lines += [
        f"RUN pip install --no-cache-dir {install}",
        "",
        f"COPY model/ {MODEL_DIR}/",
        "",
        "USER flowtrack",
        f"EXPOSE {PORT}",
        "HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \\",
        f"    CMD {health}",
        f"ENTRYPOINT {entrypoint}",
        "",
    ]
    return "\n".join(lines)

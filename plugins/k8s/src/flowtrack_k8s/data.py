"""A Job's inputs, outputs, pod logs and model, through the core's data and registry APIs.

Inputs and outputs are versioned as the core's `log_input` / `log_output` do (content digests
for local paths, reference fingerprints such as ETags for remote URLs: nothing is copied from
a bucket), in the Job's run. Each call raises a `FlowtrackError` naming the path on a problem:
the recorder turns it into a warning on the run and goes on.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from flowtrack.errors import FlowtrackError, StoreUnavailableError
from flowtrack.tracking import context, datasets
from flowtrack.tracking.context import RunState

log = logging.getLogger("flowtrack.k8s")

MAX_MODEL_BYTES = 2 * 1024**3  # a model copied into the run's artifacts to be registered


def version(state: RunState, uri: str, direction: str) -> None:
    """Version ``uri`` as an input or output of the run ``state`` (raises FlowtrackError)."""
    content = datasets.describe(uri)
    context.push(state)  # the core's dataset events go to the active run
    try:
        datasets._log(content, direction)
    finally:
        context.pop(state)


def artifact_uri(state: RunState) -> str:
    """Where the run's artifacts go (asks the store once, if it was down when the run began)."""
    if state.artifact_uri is None:
        from flowtrack.tracking.log import _artifact_uri

        state.artifact_uri = _artifact_uri(state)
    return state.artifact_uri


def save_text(state: RunState, data: bytes, folder: str, name: str) -> str:
    """Store ``data`` as the artifact ``folder/name`` of the run; return its path there."""
    from flowtrack.tracking.log import _announce
    from flowtrack.tracking.stores import get_artifact_store

    with tempfile.TemporaryDirectory(prefix="flowtrack-k8s-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            written = get_artifact_store(artifact_uri(state)).log_file(path, folder)
        except OSError as exc:
            raise StoreUnavailableError(f"artifact {folder}/{name} was not stored: {exc}") from exc
    _announce(state, [written])
    return written


def register(state: RunState, output: str, model: str) -> str:
    """Copy ``output`` into the run's artifacts (``model/``) and register it as the next
    version of ``model``, linked to the run; return the version."""
    import flowtrack
    import fsspec
    from flowtrack.tracking.log import _announce
    from flowtrack.tracking.stores import get_artifact_store

    try:
        fs, root = fsspec.core.url_to_fs(output)
        size = int(fs.du(root)) if fs.isdir(root) else int(fs.size(root) or 0)
    except Exception as exc:
        raise FlowtrackError(f"could not read {output!r}: {exc}") from exc
    if size > MAX_MODEL_BYTES:
        raise FlowtrackError(f"{output!r} is {size} bytes; the limit to register is 2 GiB")
    store = get_artifact_store(artifact_uri(state))
    with tempfile.TemporaryDirectory(prefix="flowtrack-k8s-model-") as tmp:
        local = Path(tmp) / "model"
        try:
            if fs.isdir(root):
                fs.get(root.rstrip("/") + "/", str(local), recursive=True)
                written = store.log_dir(local, "model")
            else:
                local.mkdir()
                fs.get(root, str(local / Path(root).name))
                written = store.log_dir(local, "model")
        except OSError as exc:
            raise FlowtrackError(f"could not copy {output!r} into the run: {exc}") from exc
    _announce(state, written)
    mv = flowtrack.register_model(f"runs:/{state.run_id}/model", model)
    return str(mv.version)

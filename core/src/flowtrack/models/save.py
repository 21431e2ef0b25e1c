"""Writing a model directory: `save_model`, and `write_model_dir` which `log_model` shares."""

from __future__ import annotations

import datetime
import errno
import logging
import os
import platform
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flowtrack.errors import InvalidInputError, PluginError
from flowtrack.models import examples, flavors
from flowtrack.models.files import hash_tree
from flowtrack.models.manifest import (
    MANIFEST_NAME,
    REQUIREMENTS_NAME,
    ModelManifest,
    check_jsonable,
)
from flowtrack.models.requirements import model_requirements, pin
from flowtrack.models.signature import ModelSignature, Schema, infer_schema
from flowtrack.plugins.records import FlavorSpec

log = logging.getLogger("flowtrack.models")

# Files flowtrack writes beside the flavor's own; a flavor must not use these names.
_RESERVED = (MANIFEST_NAME, REQUIREMENTS_NAME, *examples.RESERVED)


def save_model(
    model: object,
    path: str | os.PathLike[str],
    input_example: Any = None,
    signature: ModelSignature | None = None,
    flavor: str | None = None,
    requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    flavor_options: Mapping[str, Any] | None = None,
) -> ModelManifest:
    """Write ``model`` as a model directory at ``path`` (a new or empty folder).

    The directory is built in a temporary folder beside ``path`` and renamed into place, so
    ``path`` either holds a complete model or nothing. An existing non-empty ``path`` is
    refused: a model is never overwritten.
    """
    target = Path(path).expanduser()
    _refuse_existing(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Not mkdtemp: its folder is private (0700), and the model keeps its folder's mode.
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        manifest = write_model_dir(
            model,
            tmp,
            input_example=input_example,
            signature=signature,
            flavor=flavor,
            requirements=requirements,
            metadata=metadata,
            flavor_options=flavor_options,
        )
        try:
            # rename() replaces an empty folder and fails on a non-empty one: no window in
            # which another writer's model could be overwritten.
            os.rename(tmp, target)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                _refuse_existing(target, force=True)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _refuse_existing(target: Path, force: bool = False) -> None:
    if force or target.is_file() or (target.is_dir() and any(target.iterdir())):
        raise InvalidInputError(
            "path",
            str(target),
            "already exists and is not an empty folder; a model is never overwritten: "
            "choose a new path or delete it first",
        )


def write_model_dir(
    model: object,
    directory: Path,
    *,
    input_example: Any = None,
    signature: ModelSignature | None = None,
    flavor: str | None = None,
    requirements: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    flavor_options: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
) -> ModelManifest:
    """Write the model's files and manifest into the empty folder ``directory``."""
    if isinstance(requirements, str):
        raise InvalidInputError("requirements", requirements, "must be a list of strings")
    if signature is not None and not isinstance(signature, ModelSignature):
        raise InvalidInputError(
            "signature", signature, "must be a ModelSignature (see infer_signature)"
        )
    user_metadata = dict(check_jsonable(dict(metadata or {}), "metadata"))
    options = dict(check_jsonable(dict(flavor_options or {}), "flavor_options"))
    spec = flavors.get(flavor) if flavor else flavors.choose(model)
    configs = {spec.name: _save_flavor(spec, model, directory, options)}
    if spec.name != flavors.GENERIC:
        # Any model loads as a generic predictor: python_function delegates to its flavor.
        configs[flavors.GENERIC] = {"loader_flavor": spec.name}
    example_info = None
    if input_example is not None:
        example_info = examples.save_example(input_example, directory)
        if signature is None:
            signature = _infer(spec, model, input_example)
    needed = [*spec.requirements, *_data_libraries(input_example)]
    pinned = model_requirements(needed, requirements)
    (directory / REQUIREMENTS_NAME).write_text("".join(f"{r}\n" for r in pinned))
    manifest = ModelManifest(
        model_uuid=uuid.uuid4().hex,
        created_at=_utc_now(),
        flowtrack_version=(pin("flowtrack") or "==").split("==", 1)[1],
        python_version=platform.python_version(),
        run_id=run_id,
        artifact_path=artifact_path,
        flavor=spec.name,
        flavors=configs,
        signature=signature,
        input_example=example_info,
        requirements=tuple(pinned),
        metadata=user_metadata,
        files=hash_tree(directory),
    )
    manifest.write(directory)
    return manifest


def _save_flavor(
    spec: FlavorSpec, model: object, directory: Path, options: dict[str, Any]
) -> dict[str, Any]:
    config = spec.save(model, directory, options)
    if not isinstance(config, dict):
        raise PluginError(f"flavor {spec.name!r} returned {config!r} from save(), not a dict")
    clashes = [name for name in _RESERVED if (directory / name).exists()]
    if clashes:
        raise PluginError(
            f"flavor {spec.name!r} wrote {', '.join(clashes)}, a name flowtrack reserves"
        )
    return dict(check_jsonable(config, f"config of flavor {spec.name!r}"))


def _infer(spec: FlavorSpec, model: object, example: Any) -> ModelSignature:
    inputs = infer_schema(example)
    outputs: Schema | None = None
    try:
        # Running the model once on its example also shows early that it can predict.
        outputs = infer_schema(spec.predict(model, example), "model output")
    except Exception as exc:
        log.info("the output signature was not inferred: predicting on the example: %s", exc)
    return ModelSignature(inputs, outputs)


def _data_libraries(example: Any) -> list[str]:
    module = type(example).__module__.split(".", 1)[0]
    return {"pandas": ["pandas", "numpy"], "numpy": ["numpy"]}.get(module, [])


def _utc_now() -> str:
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
    return now.replace("+00:00", "Z")

"""The ``python_function`` flavor: any callable, or any object with a ``predict`` method.

The object is pickled (with cloudpickle when it is installed, so lambdas and functions defined
in ``__main__`` work too). Loading unpickles it, which can run arbitrary code: load such
models only from sources you trust. flowtrack checks every file's hash against the manifest
before it unpickles anything.
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowtrack.errors import FlowtrackError
from flowtrack.models.files import ModelFiles
from flowtrack.plugins.records import FlavorSpec

MODEL_FILE = "python_model.pkl"


def handles(model: object) -> bool:
    return callable(getattr(model, "predict", None)) or callable(model)


def _pickler() -> tuple[str, Any]:
    try:
        return "cloudpickle", importlib.import_module("cloudpickle")
    except ImportError:
        return "pickle", pickle


def save(model: object, directory: Path, options: Mapping[str, Any]) -> dict[str, Any]:
    name, module = _pickler()
    (directory / MODEL_FILE).write_bytes(module.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    method = "predict" if callable(getattr(model, "predict", None)) else "__call__"
    return {"model_file": MODEL_FILE, "serializer": name, "method": method}


def load(files: ModelFiles, config: Mapping[str, Any]) -> object:
    if config.get("serializer") == "cloudpickle":
        try:
            importlib.import_module("cloudpickle")  # its pickles refer to it
        except ImportError as exc:
            raise FlowtrackError(
                "this model was pickled with cloudpickle, which is not installed; "
                "pip install cloudpickle (see the model's requirements.txt)"
            ) from exc
    # Unpickling runs code: only the bytes whose hash matches the manifest get here.
    return pickle.loads(files.read_bytes(str(config["model_file"])))  # noqa: S301


def predict(model: object, data: Any) -> Any:
    method = getattr(model, "predict", None)
    if callable(method):
        return method(data)
    if callable(model):
        return model(data)
    raise FlowtrackError(f"{type(model).__name__} is neither callable nor has a predict method")


FLAVOR = FlavorSpec(
    name="python_function",
    handles=handles,
    save=save,
    load=load,
    predict=predict,
    requirements=("cloudpickle",),
)

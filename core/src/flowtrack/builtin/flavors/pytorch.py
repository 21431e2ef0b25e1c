"""The ``pytorch`` flavor: a ``torch.nn.Module`` as its state dict plus its class.

Saved: the state dict (``torch.save``), the module's class as an importable path
(``package.module:ClassName``) and the keyword arguments that build it (JSON, from
``flavor_options={"init_kwargs": {...}}``). Loaded: the class is imported, checked to be a
``torch.nn.Module``, built with those arguments, and given the weights read with
``torch.load(weights_only=True)``, which reads tensors only and runs no pickled code.

``predict`` runs the module in eval mode under ``torch.no_grad()`` on a tensor made from the
input, cast to the module's floating dtype, and returns numpy arrays.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowtrack.errors import InvalidInputError
from flowtrack.models import libs
from flowtrack.models.files import ModelFiles
from flowtrack.models.inputs import as_array
from flowtrack.plugins.records import FlavorSpec

STATE_FILE = "state_dict.pt"


def handles(model: object) -> bool:
    # A Module exists only if torch was imported: this looks in sys.modules, never imports.
    return libs.is_instance(model, "torch.nn", "Module")


def class_path(model: object) -> str:
    kind = type(model)
    return f"{kind.__module__}:{kind.__qualname__}"


def import_class(path: str) -> Any:
    """The ``torch.nn.Module`` subclass at ``package.module:Class``."""
    torch = libs.need("torch")
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname or module_name == "__main__" or "<locals>" in qualname:
        raise InvalidInputError(
            "module_class",
            path,
            "must be an importable 'package.module:ClassName' (a class defined in __main__ "
            "or inside a function cannot be imported when the model is loaded: move it to "
            "a module)",
        )
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidInputError("module_class", path, f"cannot be imported: {exc}") from None
    # The manifest names the class; refuse to call anything that is not a torch module class.
    if not (isinstance(found, type) and issubclass(found, torch.nn.Module)):
        raise InvalidInputError("module_class", path, "is not a torch.nn.Module subclass")
    return found


def save(model: object, directory: Path, options: Mapping[str, Any]) -> dict[str, Any]:
    torch = libs.need("torch")
    path = str(options.get("module_class") or class_path(model))
    init_kwargs = options.get("init_kwargs") or {}
    if not isinstance(init_kwargs, Mapping):
        raise InvalidInputError("init_kwargs", init_kwargs, "must be a dict of JSON values")
    _check_rebuilds(import_class(path), dict(init_kwargs), model, path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}  # type: ignore[attr-defined]
    torch.save(state, directory / STATE_FILE)
    return {
        "module_class": path,
        "init_kwargs": dict(init_kwargs),
        "state_dict": STATE_FILE,
        "torch_version": str(torch.__version__),
    }


def _check_rebuilds(cls: Any, init_kwargs: dict[str, Any], model: Any, path: str) -> None:
    """Build the class on the meta device (no memory for weights) and load the state dict
    into it, so a missing constructor argument fails now, not when the model is loaded."""
    torch = libs.need("torch")
    try:
        with torch.device("meta"):
            shell = cls(**init_kwargs)
        shell.load_state_dict(model.state_dict(), strict=True, assign=True)
    except Exception as exc:
        raise InvalidInputError(
            "flavor_options",
            {"module_class": path, "init_kwargs": init_kwargs},
            f"rebuilding the module from them failed ({exc}); pass the constructor's "
            "arguments as flavor_options={'init_kwargs': {...}}",
        ) from None


def load(files: ModelFiles, config: Mapping[str, Any]) -> object:
    torch = libs.need("torch")
    cls = import_class(str(config.get("module_class")))
    init_kwargs = config.get("init_kwargs") or {}
    if not isinstance(init_kwargs, Mapping):
        raise InvalidInputError("init_kwargs", init_kwargs, "must be a mapping")
    data = files.read_bytes(str(config.get("state_dict", STATE_FILE)))
    # weights_only=True: tensors and plain containers only, never arbitrary pickled objects.
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    module = cls(**init_kwargs)
    module.load_state_dict(state)
    module.eval()
    return module


def predict(module: Any, data: Any) -> Any:
    torch = libs.need("torch")
    tensor = data if libs.is_tensor(data) else torch.as_tensor(_contiguous(as_array(data)))
    first = next(iter(module.parameters()), None)
    if first is not None:
        tensor = tensor.to(first.device)
        # float64 from pandas or numpy meets float32 weights; integer input (token ids for
        # an embedding) stays integer.
        if tensor.is_floating_point() and first.is_floating_point():
            tensor = tensor.to(first.dtype)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            output = module(tensor)
    finally:
        module.train(was_training)  # predicting on a model being trained leaves it as it was
    return _to_numpy(output)


def _contiguous(array: Any) -> Any:
    numpy = libs.need("numpy")
    return numpy.ascontiguousarray(array)


def _to_numpy(output: Any) -> Any:
    if libs.is_tensor(output):
        return output.detach().cpu().numpy()
    if isinstance(output, tuple | list):
        return type(output)(_to_numpy(o) for o in output)
    if isinstance(output, dict):
        return {k: _to_numpy(v) for k, v in output.items()}
    return output


FLAVOR = FlavorSpec(
    name="pytorch",
    handles=handles,
    save=save,
    load=load,
    predict=predict,
    requirements=("torch", "numpy"),
)

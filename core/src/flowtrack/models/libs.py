"""Lazy access to numpy, pandas and torch: `import flowtrack` never imports them.

They are typed as ``Any`` here on purpose: pandas and scikit-learn ship no type information,
and checking against torch's would make mypy slow for no gain in this thin glue.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from flowtrack.errors import FlowtrackError

_EXTRAS = {"numpy": "models", "pandas": "models", "torch": "pytorch", "sklearn": "sklearn"}


def need(module: str) -> Any:
    """Import ``module``, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = _EXTRAS.get(module.split(".", 1)[0], "models")
        raise FlowtrackError(
            f"{module} is needed here but is not installed; pip install 'flowtrack[{extra}]'"
        ) from exc


def loaded(module: str) -> Any | None:
    """``module`` if it is imported already, else None: an object can only be an instance of
    a library's type if that library was imported, so this never imports anything."""
    return sys.modules.get(module)


def is_instance(obj: object, module: str, attribute: str) -> bool:
    found = loaded(module)
    kind = getattr(found, attribute, None) if found is not None else None
    return isinstance(kind, type) and isinstance(obj, kind)


def is_dataframe(obj: object) -> bool:
    return is_instance(obj, "pandas", "DataFrame")


def is_series(obj: object) -> bool:
    return is_instance(obj, "pandas", "Series")


def is_ndarray(obj: object) -> bool:
    return is_instance(obj, "numpy", "ndarray")


def is_tensor(obj: object) -> bool:
    return is_instance(obj, "torch", "Tensor")

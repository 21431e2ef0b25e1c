"""Errors of model directories and model input."""

from __future__ import annotations

from typing import Any

from flowtrack.errors import FlowtrackError, InvalidInputError


class ModelIntegrityError(FlowtrackError):
    """A model directory cannot be trusted: a file is missing, changed or outside the folder,
    or the manifest is unreadable. Nothing of the model was deserialized."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"model file {path!r} {reason}")


class ModelInputError(InvalidInputError):
    """Input to ``predict`` does not match the model's signature.

    ``field`` is the column (or "input" for a tensor), ``value`` what was found and ``reason``
    what the signature expects; the server answers these with a 400.
    """

    def __init__(self, field: str, value: Any, reason: str) -> None:
        super().__init__(field, value, reason)
        # A readable message: "model input 'age' is missing: ...", not "invalid age None: ...".
        self.args = (f"model input {field!r} {reason}",)

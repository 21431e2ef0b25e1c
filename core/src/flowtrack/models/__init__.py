"""Models: a folder with a manifest, written by a flavor, loaded as a generic predictor.

::

    import flowtrack

    with flowtrack.start_run():
        info = flowtrack.models.log_model(model, "model", input_example=X[:5])
    m = flowtrack.models.load(info.uri)        # also a path, file://, models:/name@alias
    m.predict(X)

The format, the flavors and the security notes are in docs/models.md. Nothing here imports
numpy, pandas, scikit-learn or torch until a model needs them.
"""

from flowtrack.models.errors import ModelInputError, ModelIntegrityError
from flowtrack.models.files import ModelFiles
from flowtrack.models.inputs import check_input
from flowtrack.models.load import LoadedModel, load, load_model
from flowtrack.models.log import HISTORY_TAG, ModelInfo, log_model
from flowtrack.models.manifest import MANIFEST_NAME, FileEntry, ModelManifest
from flowtrack.models.save import save_model
from flowtrack.models.signature import (
    ColumnSpec,
    ModelSignature,
    Schema,
    TensorSpec,
    infer_signature,
)
from flowtrack.plugins.records import FlavorSpec

__all__ = [
    "HISTORY_TAG",
    "MANIFEST_NAME",
    "ColumnSpec",
    "FileEntry",
    "FlavorSpec",
    "LoadedModel",
    "ModelFiles",
    "ModelInfo",
    "ModelInputError",
    "ModelIntegrityError",
    "ModelManifest",
    "ModelSignature",
    "Schema",
    "TensorSpec",
    "check_input",
    "infer_signature",
    "load",
    "load_model",
    "log_model",
    "save_model",
]

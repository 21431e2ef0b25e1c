"""The ``sklearn`` flavor: a scikit-learn estimator (or pipeline), pickled.

``predict`` calls the estimator's ``predict``; everything else (``predict_proba``,
``transform``) is on ``LoadedModel.raw``. Loading unpickles: load only models from sources you
trust; flowtrack checks every file's hash against the manifest first.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowtrack.models import libs
from flowtrack.models.files import ModelFiles
from flowtrack.models.inputs import as_model_input
from flowtrack.plugins.records import FlavorSpec

MODEL_FILE = "model.pkl"


def handles(model: object) -> bool:
    # Looks in sys.modules, never imports: an estimator exists only if sklearn was imported.
    return libs.is_instance(model, "sklearn.base", "BaseEstimator")


def save(model: object, directory: Path, options: Mapping[str, Any]) -> dict[str, Any]:
    sklearn = libs.need("sklearn")
    (directory / MODEL_FILE).write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    return {
        "model_file": MODEL_FILE,
        "serializer": "pickle",
        "sklearn_version": sklearn.__version__,
        "estimator_class": f"{type(model).__module__}.{type(model).__qualname__}",
    }


def load(files: ModelFiles, config: Mapping[str, Any]) -> object:
    libs.need("sklearn")
    # Unpickling runs code: only the bytes whose hash matches the manifest get here.
    return pickle.loads(files.read_bytes(str(config["model_file"])))  # noqa: S301


def predict(model: Any, data: Any) -> Any:
    return model.predict(as_model_input(data))


FLAVOR = FlavorSpec(
    name="sklearn",
    handles=handles,
    save=save,
    load=load,
    predict=predict,
    requirements=("scikit-learn", "numpy", "scipy", "joblib", "threadpoolctl"),
)

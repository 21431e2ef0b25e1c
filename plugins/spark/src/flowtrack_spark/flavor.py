"""The ``spark`` model flavor: Spark ML models (a ``PipelineModel`` or any fitted model),
saved with Spark's own writer and loaded with its reader.

``predict`` runs the model on a pandas DataFrame (or anything ``pandas.DataFrame`` takes)
through the active Spark session, or a local one it starts, and returns the ``prediction``
column as a numpy array; the model object itself is ``LoadedModel.raw``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowtrack.errors import InvalidInputError
from flowtrack.models.files import ModelFiles
from flowtrack.plugins.records import FlavorSpec

MODEL_DIR = "sparkml"


def handles(model: object) -> bool:
    # Never imports pyspark: a Spark ML model exists only if pyspark.ml was imported.
    module = type(model).__module__
    return module.startswith("pyspark.ml.") and callable(getattr(model, "write", None))


def save(model: Any, directory: Path, options: Mapping[str, Any]) -> dict[str, Any]:
    import pyspark

    model.write().overwrite().save(str(directory / MODEL_DIR))
    return {
        "model_dir": MODEL_DIR,
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "pyspark_version": pyspark.__version__,
    }


def _session() -> Any:
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    return SparkSession.builder.master("local[1]").appName("flowtrack-model").getOrCreate()


def load(files: ModelFiles, config: Mapping[str, Any]) -> object:
    folder = str(config["model_dir"])
    # Every file under the folder was checked against the manifest when `files` was opened.
    listed = [n for n in files.names if n.startswith(folder + "/")]
    if not listed:
        raise InvalidInputError("model_dir", folder, "the manifest lists no file there")
    module_name, _, class_name = str(config["model_class"]).rpartition(".")
    if not module_name.startswith("pyspark.ml."):
        raise InvalidInputError("model_class", config["model_class"], "is not a Spark ML class")
    model_class = getattr(importlib.import_module(module_name), class_name)
    _session()
    return model_class.load(str(files.root / folder))


def predict(model: Any, data: Any) -> Any:
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    result = model.transform(_session().createDataFrame(frame))
    column = "prediction"
    return result.select(column).toPandas()[column].to_numpy()


FLAVOR = FlavorSpec(
    name="spark",
    handles=handles,
    save=save,
    load=load,
    predict=predict,
    requirements=("pyspark", "py4j", "numpy", "pandas"),
)


def log_model(model: Any, artifact_path: str = "model", **options: Any) -> Any:
    """``flowtrack.models.log_model`` with the ``spark`` flavor (same arguments)."""
    import flowtrack.models

    return flowtrack.models.log_model(model, artifact_path, flavor="spark", **options)

"""Loading a model as a generic predictor: `load` (also `load_model`) and `LoadedModel`."""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

from flowtrack.errors import InvalidInputError
from flowtrack.models import flavors, uris
from flowtrack.models.examples import load_example
from flowtrack.models.files import ModelFiles
from flowtrack.models.inputs import check_input
from flowtrack.models.manifest import ModelManifest
from flowtrack.models.signature import ModelSignature
from flowtrack.plugins.records import FlavorSpec


class LoadedModel:
    """A loaded model: ``predict(data)``, plus what the manifest says about it.

    ``raw`` is the model object itself (an sklearn estimator, a torch module, your function),
    for what ``predict`` does not cover (``model.raw.predict_proba(X)``). ``flavor`` names the
    flavor that loaded it; ``metadata`` is the parsed manifest; ``path`` the local folder it
    was loaded from (a download folder is deleted when this object is).
    """

    def __init__(
        self,
        files: ModelFiles,
        spec: FlavorSpec,
        raw: object,
        source: uris.LocalModel,
    ) -> None:
        self._files = files
        self._spec = spec
        self.raw = raw
        self.flavor = spec.name
        self.metadata: ModelManifest = files.manifest
        self.path: Path = files.root
        if source.temporary is not None:
            weakref.finalize(self, source.discard)

    @property
    def signature(self) -> ModelSignature | None:
        return self.metadata.signature

    @property
    def input_example(self) -> Any:
        """The example saved with the model (None if there is none)."""
        info = self.metadata.input_example
        return None if info is None else load_example(self._files, info)

    def predict(self, data: Any, *, check: bool = True) -> Any:
        """Predict on a DataFrame, array, tensor, list of dicts or dict of lists.

        With a signature, the input is checked and converted first (`check_input`); a
        mismatch raises `ModelInputError` naming the column. ``check=False`` skips that.
        """
        if check:
            data = check_input(self.signature, data)
        return self._spec.predict(self.raw, data)

    def __repr__(self) -> str:
        return (
            f"<LoadedModel flavor={self.flavor} uuid={self.metadata.model_uuid} path={self.path}>"
        )


def load(model_uri: str | os.PathLike[str], *, flavor: str | None = None) -> LoadedModel:
    """Load the model at ``model_uri``: a local path, ``file://``, ``runs:/<run_id>/<path>``,
    ``models:/<name>/<version|stage>`` or ``models:/<name>@<alias>``, or an fsspec URL.

    Every file's hash is checked against the manifest before anything is deserialized
    (`ModelIntegrityError` otherwise). The model is loaded with the flavor it was saved with,
    or ``flavor`` ("python_function" loads any model through the flavor it names).
    """
    source = uris.fetch(model_uri)
    try:
        files = ModelFiles.open(source.path)
        spec, config = _loader(files.manifest, flavor)
        raw = spec.load(files, config)
    except BaseException:
        source.discard()
        raise
    return LoadedModel(files, spec, raw, source)


load_model = load


def _loader(manifest: ModelManifest, wanted: str | None) -> tuple[FlavorSpec, dict[str, Any]]:
    name = wanted or manifest.flavor
    if name not in manifest.flavors:
        raise InvalidInputError(
            "flavor", name, f"this model was saved with the flavors {list(manifest.flavors)}"
        )
    config = manifest.flavors[name]
    delegate = config.get("loader_flavor")
    if name == flavors.GENERIC and delegate is not None:
        if delegate == flavors.GENERIC or delegate not in manifest.flavors:
            raise InvalidInputError(
                "flavors.python_function.loader_flavor",
                delegate,
                f"must name another of the model's flavors {list(manifest.flavors)}",
            )
        name, config = str(delegate), manifest.flavors[str(delegate)]
    return flavors.get(name), config

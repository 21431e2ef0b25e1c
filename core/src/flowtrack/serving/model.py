"""The model a server or a batch prediction uses: resolved once, loaded once, hash-verified."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowtrack.errors import FlowtrackError, NotFoundError
from flowtrack.models import LoadedModel, load

if TYPE_CHECKING:
    from flowtrack.registry.entities import ModelVersion


@dataclass(frozen=True)
class ServedModel:
    """``uri`` as the user gave it; ``version`` the registered version it resolved to (for
    ``models:/`` URIs), so an alias moved later does not change what this process serves."""

    uri: str
    model: LoadedModel
    version: ModelVersion | None = None

    def summary(self) -> dict[str, Any]:
        """What ``GET /metadata`` answers: where the model came from, its manifest's summary
        and its signature."""
        manifest = self.model.metadata
        registered = None
        if self.version is not None:
            v = self.version
            registered = {
                "name": v.name,
                "version": v.version,
                "aliases": list(v.aliases),
                "stage": v.current_stage,
                "run_id": v.run_id,
                "source": v.source,
                "storage_location": v.storage_location,
            }
        return {
            "model_uri": self.uri,
            "registered_model": registered,
            "model": {
                "model_uuid": manifest.model_uuid,
                "created_at": manifest.created_at,
                "flavor": manifest.flavor,
                "flavors": list(manifest.flavors),
                "run_id": manifest.run_id,
                "artifact_path": manifest.artifact_path,
                "flowtrack_version": manifest.flowtrack_version,
                "python_version": manifest.python_version,
                "requirements": list(manifest.requirements),
                "metadata": manifest.metadata,
            },
            "signature": None if manifest.signature is None else manifest.signature.to_dict(),
        }


def open_model(model_uri: str) -> ServedModel:
    """Resolve ``model_uri`` (once: a ``models:/`` alias is pinned to its version now) and load
    it, checking every file's hash. Errors say what to do."""
    version = None
    location = model_uri
    if model_uri.startswith("models:/"):
        from flowtrack.registry.uris import resolve_model_uri

        version, location = resolve_model_uri(model_uri)
    try:
        model = load(location)
    except NotFoundError as exc:
        raise FlowtrackError(
            f"cannot load the model {model_uri!r}: {exc}. Give a model folder, "
            "runs:/<run_id>/<path>, models:/<name>/<version|stage> or models:/<name>@<alias> "
            "(`flowtrack models list` shows the registered models)"
        ) from exc
    return ServedModel(model_uri, model, version)

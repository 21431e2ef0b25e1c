"""The model registry: registered models, versions, aliases, stages, lineage and audit trail.

``register_model`` is the fluent entry point; `flowtrack.Client` has the full API with
MlflowClient's names; ``flowtrack.registry.uris.resolve_model_uri`` turns a ``models:/`` URI
into a version and the artifact URI of its files. See docs/registry.md.
"""

from flowtrack.registry.entities import (
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegistryAction,
    RegistryEvent,
    Stage,
    StageChange,
)
from flowtrack.registry.fluent import register_model

__all__ = [
    "ModelVersion",
    "ModelVersionStatus",
    "RegisteredModel",
    "RegistryAction",
    "RegistryEvent",
    "Stage",
    "StageChange",
    "register_model",
]

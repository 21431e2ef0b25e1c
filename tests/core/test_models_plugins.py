"""Flavors come from plugins: a throwaway one is used, a broken one is skipped."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import flowtrack
import flowtrack.models as fm
import flowtrack.testing
import pytest
from flowtrack.models import ModelFiles
from flowtrack.plugins.records import FlavorSpec

from tests.core.modelzoo import add_one


class Lookup:
    """A "model" that is a plain table: saved as JSON, no pickle anywhere."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table


def _save(model: object, directory: Path, options: Mapping[str, Any]) -> dict[str, Any]:
    assert isinstance(model, Lookup)
    (directory / "table.json").write_text(json.dumps(model.table))
    return {"table": "table.json", "default": options.get("default", "?")}


def _load(files: ModelFiles, config: Mapping[str, Any]) -> object:
    return Lookup(json.loads(files.read_bytes(config["table"])))


def _predict(model: Any, data: Any) -> list[str]:
    return [model.table.get(str(key), "?") for key in data]


LOOKUP = FlavorSpec(
    name="lookup",
    handles=lambda obj: isinstance(obj, Lookup),
    save=_save,
    load=_load,
    predict=_predict,
    requirements=("PyYAML",),
)


class LookupPlugin:
    @flowtrack.hookimpl
    def flowtrack_register_flavors(self) -> list[FlavorSpec]:
        return [LOOKUP]


class BrokenPlugin:
    @flowtrack.hookimpl
    def flowtrack_register_flavors(self) -> list[FlavorSpec]:
        raise RuntimeError("flavor plugin bug")


class JunkPlugin:
    @flowtrack.hookimpl
    def flowtrack_register_flavors(self) -> list[object]:
        return ["not a FlavorSpec"]


class GreedyPlugin:
    """Claims every model, then fails in handles(): it must not block the others."""

    @flowtrack.hookimpl
    def flowtrack_register_flavors(self) -> list[FlavorSpec]:
        def handles(obj: object) -> bool:
            raise ValueError("handles bug")

        return [FlavorSpec("greedy", handles, _save, _load, _predict)]


def test_a_plugin_flavor_is_chosen_saved_and_loaded(tmp_path: Path) -> None:
    with flowtrack.testing.registered(LookupPlugin(), "lookup"):
        manifest = fm.save_model(
            Lookup({"1": "one"}), tmp_path / "m", flavor_options={"default": "none"}
        )
        assert manifest.flavor == "lookup"
        assert manifest.flavors["lookup"] == {"table": "table.json", "default": "none"}
        assert any(r.startswith("PyYAML==") for r in manifest.requirements)
        model = fm.load(tmp_path / "m")
        assert model.flavor == "lookup" and model.predict(["1", "2"]) == ["one", "?"]
        # Built-in flavors still handle what the plugin does not.
        assert fm.save_model(add_one, tmp_path / "f").flavor == "python_function"
    # Without the plugin the model cannot be loaded, and the error says why.
    with pytest.raises(flowtrack.InvalidInputError, match="'lookup': is not registered"):
        fm.load(tmp_path / "m")


def test_a_plugin_flavor_works_through_runs() -> None:
    with flowtrack.testing.registered(LookupPlugin(), "lookup"), flowtrack.start_run():
        info = fm.log_model(Lookup({"a": "b"}), "lookup-model")
        assert fm.load(info.uri).predict(["a"]) == ["b"]


def test_broken_flavor_plugins_are_logged_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        flowtrack.testing.registered(BrokenPlugin(), "broken"),
        flowtrack.testing.registered(JunkPlugin(), "junk"),
        flowtrack.testing.registered(GreedyPlugin(), "greedy"),
        caplog.at_level(logging.ERROR),
    ):
        manifest = fm.save_model(add_one, tmp_path / "m")
        assert manifest.flavor == "python_function"
        assert fm.load(tmp_path / "m").predict(1) == 2
    assert "flowtrack plugin 'broken' raised in flowtrack_register_flavors" in caplog.text
    assert "'not a FlavorSpec' from flowtrack_register_flavors, not a FlavorSpec" in caplog.text
    assert "flavor 'greedy' failed in handles()" in caplog.text


def test_a_flavor_may_not_write_reserved_files(tmp_path: Path) -> None:
    def save(model: object, directory: Path, options: Mapping[str, Any]) -> dict[str, Any]:
        (directory / fm.MANIFEST_NAME).write_text("forged")
        return {}

    class Forger:
        @flowtrack.hookimpl
        def flowtrack_register_flavors(self) -> list[FlavorSpec]:
            return [FlavorSpec("forger", lambda o: True, save, _load, _predict)]

    with flowtrack.testing.registered(Forger(), "forger"):
        with pytest.raises(flowtrack.FlowtrackError, match="reserves"):
            fm.save_model(add_one, tmp_path / "m")
    assert not (tmp_path / "m").exists()

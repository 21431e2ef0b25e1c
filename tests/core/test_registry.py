"""The model registry on the real stores: lifecycle, search, aliases, stages and validation
(source containment, lineage, audit, URIs and migration are in test_registry_links.py)."""

from __future__ import annotations

from typing import Any

import flowtrack
import flowtrack.testing
import pytest
from flowtrack.errors import ConflictError, InvalidInputError, NotFoundError
from flowtrack.registry import ModelVersion, RegisteredModel

from tests.core.registryhelpers import finished_run as _run
from tests.core.registryhelpers import fresh_name as _name
from tests.core.registryhelpers import registry_client


@pytest.fixture
def client(store_uri: str) -> flowtrack.Client:
    return registry_client(store_uri)


# -- lifecycle ----------------------------------------------------------------------------------


def test_model_and_version_lifecycle(client: flowtrack.Client) -> None:
    name = _name()
    run_id = _run()
    rm = client.create_registered_model(name, tags={"team": "risk"}, description="churn model")
    assert isinstance(rm, RegisteredModel)
    assert (rm.name, rm.description, rm.tags, rm.aliases, rm.latest_versions) == (
        name,
        "churn model",
        {"team": "risk"},
        {},
        [],
    )
    with pytest.raises(ConflictError, match="already exists"):
        client.create_registered_model(name)

    mv = client.create_model_version(
        name, f"runs:/{run_id}/model", tags={"k": 1}, description="first"
    )
    assert isinstance(mv, ModelVersion)
    assert (mv.version, mv.run_id, mv.current_stage, mv.status) == (1, run_id, "None", "READY")
    assert mv.source == f"runs:/{run_id}/model"
    artifact_uri = client.get_run(run_id).info.artifact_uri
    assert mv.storage_location == f"{artifact_uri}/model"
    assert client.get_model_version_download_uri(name, 1) == mv.storage_location
    assert (mv.tags, mv.description) == ({"k": "1"}, "first")
    assert mv.creation_timestamp == mv.last_updated_timestamp

    v2 = client.create_model_version(name, f"runs:/{run_id}/model")
    assert v2.version == 2
    # MLflow passes versions as strings; both spellings work everywhere.
    assert client.get_model_version(name, "2") == client.get_model_version(name, 2) == v2

    client.update_registered_model(name, "new description")
    client.set_registered_model_tag(name, "owner", "ana")
    client.delete_registered_model_tag(name, "team")
    updated = client.update_model_version(name, "1", description="retrained")
    assert updated.description == "retrained"
    client.set_model_version_tag(name, 1, "validated", True)
    client.delete_model_version_tag(name, 1, "k")
    assert client.get_model_version(name, 1).tags == {"validated": "True"}
    rm = client.get_registered_model(name)
    assert rm.description == "new description" and rm.tags == {"owner": "ana"}
    assert rm.last_updated_timestamp >= rm.creation_timestamp

    # Deleting a version removes its aliases; its number is never given out again.
    client.set_alias(name, "candidate", 2)
    client.delete_model_version(name, 2)
    assert client.get_registered_model(name).aliases == {}
    with pytest.raises(NotFoundError, match=r"versions of .*: 1"):
        client.get_model_version(name, 2)
    assert client.create_model_version(name, f"runs:/{run_id}/model").version == 3

    # Renaming carries the versions, aliases and history along.
    new_name = _name("renamed")
    client.set_alias(name, "champion", 3)
    renamed = client.rename_registered_model(name, new_name)
    assert renamed.name == new_name and renamed.aliases == {"champion": 3}
    assert client.get_model_version(new_name, 3).name == new_name
    with pytest.raises(NotFoundError, match="registered model"):
        client.get_registered_model(name)
    other = _name("other")
    client.create_registered_model(other)
    with pytest.raises(ConflictError, match="already exists"):
        client.rename_registered_model(new_name, other)

    history = client.get_registry_history(new_name)
    assert history[0].action == "create_model" and history[0].name == name
    assert history[-1].action == "rename"
    assert history[-1].detail == {"old": name, "new": new_name}

    client.delete_registered_model(new_name)
    with pytest.raises(NotFoundError):
        client.get_registered_model(new_name)
    assert client.search_model_versions(f"name = '{new_name}'").items == []
    # The audit trail outlives the model.
    after = client.get_registry_history(new_name)
    assert after[:-1] == history and after[-1].action == "delete"
    assert after[-1].detail == {"versions": [1, 3], "aliases": {"champion": 3}}


def test_search_models_and_versions(client: flowtrack.Client) -> None:
    prefix = _name("search")
    run_a, run_b = _run(), _run()
    names = [f"{prefix}-b", f"{prefix}-a", f"{prefix}-c"]
    for n in names:
        client.create_registered_model(n, tags={"kind": "tree" if n.endswith("a") else "linear"})
    for _ in range(3):
        client.create_model_version(names[0], f"runs:/{run_a}/model")
    client.create_model_version(names[1], f"runs:/{run_b}/model")

    found = client.search_registered_models(f"name LIKE '{prefix}-%'").items
    assert [m.name for m in found] == sorted(names)
    assert [m.name for m in client.search_registered_models(f"name = '{names[2]}'").items] == [
        names[2]
    ]
    upper = prefix.upper()
    assert client.search_registered_models(f"name LIKE '{upper}%'").items == []
    assert len(client.search_registered_models(f"name ILIKE '{upper}%'").items) == 3
    tagged = client.search_registered_models(f"name LIKE '{prefix}%' AND tags.kind = 'tree'")
    assert [m.name for m in tagged.items] == [names[1]]
    newest = client.search_registered_models(
        f"name LIKE '{prefix}%'", order_by=["last_updated_timestamp DESC"]
    )
    assert newest.items[0].name == names[1]  # its version was created last
    page = client.search_registered_models(f"name LIKE '{prefix}%'", max_results=2)
    assert len(page.items) == 2 and page.token
    rest = client.search_registered_models(
        f"name LIKE '{prefix}%'", max_results=2, page_token=page.token
    )
    assert [m.name for m in page.items + rest.items] == sorted(names) and rest.token is None

    versions = client.search_model_versions(f"name = '{names[0]}'").items
    assert [v.version for v in versions] == [3, 2, 1]
    by_run = client.search_model_versions(f"run_id = '{run_b}'").items
    assert [(v.name, v.version) for v in by_run] == [(names[1], 1)]
    newer = client.search_model_versions(f"name = '{names[0]}' and version_number > 1")
    assert [v.version for v in newer.items] == [3, 2]
    client.transition_stage(names[0], 2, "Staging")
    staged = client.search_model_versions(f"name LIKE '{prefix}%' AND current_stage = 'staging'")
    assert [(v.name, v.version) for v in staged.items] == [(names[0], 2)]
    ascending = client.search_model_versions(
        f"name = '{names[0]}'", order_by=["version_number ASC"]
    )
    assert [v.version for v in ascending.items] == [1, 2, 3]

    for bad in ("name = ", "nam = 'x'", "name > 'x'", "version_number = 'x'", "name = 'a' OR"):
        with pytest.raises(InvalidInputError, match="filter_string"):
            client.search_model_versions(bad)
    with pytest.raises(InvalidInputError, match="order_by"):
        client.search_registered_models(order_by=["size DESC"])
    with pytest.raises(InvalidInputError, match="max_results"):
        client.search_registered_models(max_results=0)


# -- aliases and stages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alias", ["latest", "LATEST", "Latest", "v1", "V12", "", "has space", "a.b", "x/y", "a@b"]
)
def test_bad_and_reserved_aliases_are_refused(client: flowtrack.Client, alias: str) -> None:
    name = _name()
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{_run()}/model")
    with pytest.raises(InvalidInputError) as raised:
        client.set_alias(name, alias, 1)
    assert raised.value.field == "alias" and raised.value.value == alias
    assert client.get_registered_model(name).aliases == {}
    assert [e.action for e in client.get_registry_history(name)] == [
        "create_model",
        "create_version",
    ]


def test_aliases(client: flowtrack.Client) -> None:
    name = _name()
    run_id = _run()
    client.create_registered_model(name)
    for _ in range(2):
        client.create_model_version(name, f"runs:/{run_id}/model")
    client.set_alias(name, "champion", 1)
    client.set_registered_model_alias(name, "v1a", "2")  # not reserved: only v<digits> is
    client.set_alias(name, "champion-2_b", 2)
    assert client.get_model_version_by_alias(name, "champion").version == 1
    client.set_alias(name, "champion", 2)  # moves it
    assert client.get_model_version_by_alias(name, "champion").version == 2
    assert client.get_model_version(name, 2).aliases == ["champion", "champion-2_b", "v1a"]
    assert client.get_registered_model(name).aliases == {
        "champion": 2,
        "champion-2_b": 2,
        "v1a": 2,
    }
    client.delete_alias(name, "v1a")
    client.delete_registered_model_alias(name, "champion-2_b")
    with pytest.raises(NotFoundError, match=r"aliases of .*: champion"):
        client.get_model_version_by_alias(name, "nope")
    with pytest.raises(NotFoundError, match="alias"):
        client.delete_alias(name, "nope")
    with pytest.raises(NotFoundError, match=r"model version.*versions of .*: 1, 2"):
        client.set_alias(name, "champion", 7)
    assert client.get_model_version_by_alias(name, "champion").version == 2
    moves = [
        e.detail for e in client.get_registry_history(name) if e.detail.get("alias") == "champion"
    ]
    assert moves == [
        {"alias": "champion", "old": None, "new": 1},
        {"alias": "champion", "old": 1, "new": 2},
    ]


def test_stages_latest_versions_and_archive_existing(client: flowtrack.Client) -> None:
    name = _name()
    run_id = _run()
    client.create_registered_model(name)
    for _ in range(4):
        client.create_model_version(name, f"runs:/{run_id}/model")
    client.transition_model_version_stage(name, 1, "production")
    client.transition_stage(name, "2", "STAGING")
    mv = client.transition_stage(name, 3, "Production")  # no archiving: two in Production
    assert mv.current_stage == "Production"

    latest = client.get_latest_versions(name)
    assert [(v.version, v.current_stage) for v in latest] == [
        (4, "None"),
        (2, "Staging"),
        (3, "Production"),
    ]
    assert [v.version for v in client.get_latest_versions(name, ["production"])] == [3]
    assert client.get_latest_versions(name, ["Archived"]) == []
    model = client.get_registered_model(name)
    assert [v.version for v in model.latest_versions] == [4, 2, 3]

    moved = client.transition_stage(name, 4, "Production", archive_existing=True)
    assert moved.version == 4 and moved.current_stage == "Production"
    stages = {
        v.version: v.current_stage for v in client.search_model_versions(f"name='{name}'").items
    }
    assert stages == {1: "Archived", 2: "Staging", 3: "Archived", 4: "Production"}
    transitions = [
        (e.version, e.detail)
        for e in client.get_registry_history(name)
        if e.action == "transition_stage"
    ][3:]
    assert transitions == [
        (4, {"old": "None", "new": "Production"}),
        (1, {"old": "Production", "new": "Archived", "archived_by": 4}),
        (3, {"old": "Production", "new": "Archived", "archived_by": 4}),
    ]

    client.transition_stage(name, 1, "none")  # back to None
    assert client.get_model_version(name, 1).current_stage == "None"
    with pytest.raises(InvalidInputError, match="stage") as raised:
        client.transition_stage(name, 1, "Prod")
    assert raised.value.value == "Prod"
    with pytest.raises(InvalidInputError, match="archive_existing_versions"):
        client.transition_stage(name, 1, "Archived", archive_existing=True)
    with pytest.raises(InvalidInputError, match="stages"):
        client.get_latest_versions(name, ["Live"])


# -- validation and unknown things --------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "a/b", "a@b", " lead", "trail ", "x" * 257, ".hidden", 7])
def test_bad_model_names_are_refused(client: flowtrack.Client, bad: Any) -> None:
    with pytest.raises(InvalidInputError) as raised:
        client.create_registered_model(bad)
    assert raised.value.field == "model name" and raised.value.value == bad


def test_unknown_models_versions_and_bad_versions(client: flowtrack.Client) -> None:
    missing = _name("missing")
    with pytest.raises(NotFoundError, match="search_registered_models"):
        client.get_registered_model(missing)
    with pytest.raises(NotFoundError):
        client.create_model_version(missing, f"runs:/{_run()}/model")
    with pytest.raises(NotFoundError):
        client.get_registry_history(missing)
    name = _name()
    client.create_registered_model(name)
    with pytest.raises(NotFoundError, match="none yet"):
        client.get_model_version(name, 1)
    for bad in ("abc", 0, -1, 1.5, True, "1.0"):
        with pytest.raises(InvalidInputError, match="version"):
            client.get_model_version(name, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="tag key"):
        client.set_registered_model_tag(name, "../x", "v")
    with pytest.raises(NotFoundError, match="no such tag"):
        client.delete_registered_model_tag(name, "absent")
    with pytest.raises(InvalidInputError, match="description"):
        client.update_registered_model(name, "x" * 5001)

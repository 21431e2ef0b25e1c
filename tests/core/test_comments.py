"""Discussions on the real stores (SQLite and PostgreSQL; test_rest_store_suites.py runs this
module again over REST): comments on runs, dataset versions and model versions, threads,
paging, edit, delete, counts, and the refusals (unknown target, empty or oversized body)."""

from __future__ import annotations

import uuid
from pathlib import Path

import flowtrack
import pytest
from flowtrack.comments import MAX_BODY_LENGTH, Comment
from flowtrack.errors import InvalidInputError, NotFoundError


def _name(prefix: str) -> str:
    # PostgreSQL tests share one database: every test uses fresh names.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client(store_uri: str) -> flowtrack.Client:
    flowtrack.set_tracking_uri(store_uri)
    flowtrack.set_experiment(_name("discuss"))
    return flowtrack.Client()


def _run() -> str:
    with flowtrack.start_run() as run:
        flowtrack.log_text("weights", "model/model.txt")
    assert flowtrack.flush()
    return run.info.run_id


def test_comment_on_a_run_list_edit_delete(
    client: flowtrack.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWTRACK_USER", "alice")
    run_id = _run()
    assert client.list_comments("run", run_id).items == []
    first = client.add_comment("run", run_id, "**Looks good**, but check `alpha`.")
    assert isinstance(first, Comment)
    assert (first.target_kind, first.target_id, first.author) == ("run", run_id, "alice")
    assert first.body == "**Looks good**, but check `alpha`."
    assert first.created_time == first.updated_time and not first.edited
    monkeypatch.setenv("FLOWTRACK_USER", "bob")
    reply = client.add_comment("run", run_id, "Checked: alpha is 0.5.", reply_to=first.comment_id)
    # A reply to a reply joins the thread of the first comment.
    second_reply = client.add_comment("run", run_id, "thanks", reply_to=reply.comment_id)
    assert (reply.reply_to, second_reply.reply_to) == (first.comment_id, first.comment_id)
    listed = client.list_comments("run", run_id).items
    assert [c.comment_id for c in listed] == [
        first.comment_id,
        reply.comment_id,
        second_reply.comment_id,
    ]
    assert [c.author for c in listed] == ["alice", "bob", "bob"]

    edited = client.update_comment(first.comment_id, "**Looks good.**")
    assert edited.body == "**Looks good.**" and edited.updated_time >= edited.created_time
    assert client.get_comment(first.comment_id).body == "**Looks good.**"

    # Deleting a comment with replies keeps its place (emptied) so the replies keep context.
    client.delete_comment(first.comment_id)
    listed = client.list_comments("run", run_id).items
    assert (listed[0].comment_id, listed[0].deleted, listed[0].body) == (first.comment_id, True, "")
    assert client.count_comments("run", [run_id]) == {run_id: 2}
    with pytest.raises(NotFoundError, match="comment"):
        client.update_comment(first.comment_id, "again")
    with pytest.raises(NotFoundError, match="comment"):
        client.delete_comment(first.comment_id)
    # Once its replies are gone too, the deleted comment leaves the list.
    client.delete_comment(reply.comment_id)
    client.delete_comment(second_reply.comment_id)
    assert client.list_comments("run", run_id).items == []
    assert client.count_comments("run", [run_id]) == {run_id: 0}


def test_comments_on_dataset_and_model_versions(client: flowtrack.Client, tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,2\n")
    with flowtrack.start_run() as run:
        version = flowtrack.log_output(data, name=_name("train"))
        flowtrack.log_text("weights", "model/model.txt")
    assert flowtrack.flush() and version is not None
    on_data = client.add_comment("dataset_version", version.version_id, "Row 2 looks off.")
    assert on_data.target_id == version.version_id
    assert [c.body for c in client.list_comments("dataset_version", version.version_id).items] == [
        "Row 2 looks off."
    ]

    name = _name("churn")
    mv = flowtrack.register_model(f"runs:/{run.info.run_id}/model", name)
    by_tuple = client.add_comment("model_version", (name, mv.version), "Ship it?")
    by_key = client.add_comment("model_version", f"{name}/{mv.version}", "> Ship it?\n\nYes.")
    assert by_tuple.target_id == by_key.target_id == f"{name}/{mv.version}"
    # The thread follows the model through a rename (comments key on the model, not its name).
    renamed = _name("renamed")
    client.rename_registered_model(name, renamed)
    listed = client.list_comments("model_version", f"{renamed}/{mv.version}").items
    assert [c.body for c in listed] == ["Ship it?", "> Ship it?\n\nYes."]
    assert client.get_comment(by_key.comment_id).target_id == f"{renamed}/{mv.version}"
    assert client.count_comments(
        "model_version", [f"{renamed}/{mv.version}", f"{renamed}/99", "nope/1"]
    ) == {f"{renamed}/{mv.version}": 2, f"{renamed}/99": 0, "nope/1": 0}


def test_paging(client: flowtrack.Client) -> None:
    run_id = _run()
    made = [client.add_comment("run", run_id, f"comment {i}").comment_id for i in range(5)]
    first = client.list_comments("run", run_id, max_results=2)
    assert [c.comment_id for c in first.items] == made[:2] and first.token
    second = client.list_comments("run", run_id, max_results=2, page_token=first.token)
    third = client.list_comments("run", run_id, max_results=2, page_token=second.token)
    assert [c.comment_id for c in second.items + third.items] == made[2:]
    assert third.token is None


def test_refusals_name_the_field_and_change_nothing(client: flowtrack.Client) -> None:
    run_id = _run()
    with pytest.raises(NotFoundError, match=r"run 'f{32}' does not exist"):
        client.add_comment("run", "f" * 32, "hello")
    with pytest.raises(NotFoundError, match="dataset version 'nope'"):
        client.add_comment("dataset_version", "nope", "hello")
    with pytest.raises(NotFoundError, match="registered model"):
        client.add_comment("model_version", f"{_name('none')}/1", "hello")
    with pytest.raises(InvalidInputError, match="invalid target_kind 'experiment'"):
        client.add_comment("experiment", "0", "hello")
    with pytest.raises(InvalidInputError, match="invalid target_id 'churn'"):
        client.add_comment("model_version", "churn", "hello")
    with pytest.raises(InvalidInputError, match="invalid body '  ': must not be empty"):
        client.add_comment("run", run_id, "  ")
    too_long = "x" * (MAX_BODY_LENGTH + 1)
    with pytest.raises(InvalidInputError, match=f"invalid body .*the limit is {MAX_BODY_LENGTH}"):
        client.add_comment("run", run_id, too_long)
    ok = client.add_comment("run", run_id, "x" * MAX_BODY_LENGTH)
    with pytest.raises(InvalidInputError, match="invalid body"):
        client.update_comment(ok.comment_id, too_long)
    other = _run()
    with pytest.raises(NotFoundError, match="comment"):
        client.add_comment("run", other, "a reply elsewhere", reply_to=ok.comment_id)
    with pytest.raises(InvalidInputError, match="comment_id"):
        client.get_comment(0)
    with pytest.raises(NotFoundError, match="comment '999999999'"):
        client.get_comment(999_999_999)
    assert [c.comment_id for c in client.list_comments("run", run_id).items] == [ok.comment_id]
    assert client.get_comment(ok.comment_id).body == "x" * MAX_BODY_LENGTH
    assert client.list_comments("run", other).items == []

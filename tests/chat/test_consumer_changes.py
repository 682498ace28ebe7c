"""Messages that change, over the WebSocket (docs/protocol.md, "Messages that
change"): the client frames that edit, delete and react, the change frames
every member's connection gets, and catching up with `sync` and
`changes_after`.

Through the whole ASGI stack, on the engines of the run (SQLite + in-memory
layer, or PostgreSQL + Redis).
"""

from datetime import datetime

import pytest
from asgiref.sync import sync_to_async

from chat.change_feed import last_change_id
from chat.models import ChangeHorizon
from chat.services.changes import store_deletion, store_edit, store_reaction
from chat.services.messages import store_message
from tests.chat.communicator import assert_all_silent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(settings):
    """No heartbeat `ping` falls inside exact frame counts."""
    settings.CHAT_HEARTBEAT_SECONDS = 60


@pytest.fixture
def said(alice, lobby):
    """A message of alice's in the lobby (bob is a member, carol is not)."""
    message, _ = store_message(sender=alice.user, room="lobby", body="helo")
    return message


def without_edited_at(frame: dict) -> dict:
    """The frame minus edited_at, which must be ISO 8601 with a time zone."""
    frame = dict(frame)
    assert datetime.fromisoformat(frame.pop("edited_at")).tzinfo is not None
    return frame


async def test_an_edit_reaches_every_member_the_editor_included(
    connect, alice, bob, carol, said
):
    """alice's edit is one message.edited frame on her socket and bob's, with a
    change_id above the hello's last_change_id; carol, not in the room, gets
    nothing."""
    editor, member, stranger = (
        await connect(alice),
        await connect(bob),
        await connect(carol),
    )
    await editor.send({"type": "message.edit", "id": said.id, "body": "hello"})
    frame = await editor.recv()
    assert without_edited_at(frame) == {
        "type": "message.edited",
        "id": said.id,
        "room": "lobby",
        "recipient": None,
        "body": "hello",
        "change_id": frame["change_id"],
    }
    assert frame["change_id"] > editor.hello["last_change_id"]
    assert await member.recv() == frame
    await assert_all_silent(editor, member, stranger)


async def test_a_deletion_reaches_every_member(connect, alice, bob, said):
    """The owner's deletion is one message.deleted frame for each member."""
    owner, member = await connect(alice), await connect(bob)
    await owner.send({"type": "message.delete", "id": said.id})
    frame = await owner.recv()
    assert frame == {
        "type": "message.deleted",
        "id": said.id,
        "room": "lobby",
        "recipient": None,
        "change_id": frame["change_id"],
    }
    assert await member.recv() == frame
    await assert_all_silent(owner, member)


async def test_reactions_carry_the_whole_state_and_a_repeat_changes_nothing(
    connect, alice, bob, said
):
    """bob's 👍 is a message.reactions frame with the whole state; adding it
    again sends nothing; removing it sends the state without it."""
    reactor, author = await connect(bob), await connect(alice)
    await reactor.send({"type": "reaction.add", "id": said.id, "emoji": "👍"})
    added = await reactor.recv()
    assert added == {
        "type": "message.reactions",
        "id": said.id,
        "room": "lobby",
        "recipient": None,
        "reactions": [{"emoji": "👍", "count": 1, "users": [bob.user.pk]}],
        "change_id": added["change_id"],
    }
    assert await author.recv() == added
    await reactor.send({"type": "reaction.add", "id": said.id, "emoji": "👍"})
    await assert_all_silent(reactor, author)
    await reactor.send({"type": "reaction.remove", "id": said.id, "emoji": "👍"})
    removed = await reactor.recv()
    assert removed["reactions"] == []
    assert removed["change_id"] > added["change_id"]
    assert await author.recv() == removed
    await assert_all_silent(reactor, author)


@pytest.mark.parametrize(
    ("who", "frame", "code"),
    [
        ("bob", {"type": "message.edit", "body": "mine now"}, "forbidden"),
        ("bob", {"type": "message.delete"}, "forbidden"),
        ("carol", {"type": "message.edit", "body": "x"}, "not_found"),
        ("carol", {"type": "reaction.add", "emoji": "👍"}, "not_found"),
        ("bob", {"type": "reaction.add", "emoji": "not one"}, "invalid"),
        ("alice", {"type": "message.edit", "body": ""}, "empty"),
    ],
)
async def test_a_refused_change_is_an_error_with_the_client_id_and_tells_nobody(
    connect, alice, bob, carol, said, who, frame, code
):
    """Not theirs, not visible, not an emoji, an empty body: an `error` with the
    client_id echoed, and no member hears of anything."""
    people = {"alice": alice, "bob": bob, "carol": carol}
    sockets = {name: await connect(person) for name, person in people.items()}
    await sockets[who].send({**frame, "id": said.id, "client_id": "c9"})
    error = await sockets[who].recv()
    assert (error["type"], error["code"], error["client_id"]) == ("error", code, "c9")
    await assert_all_silent(*sockets.values())


async def test_too_late_to_edit_is_edit_window(connect, alice, said, settings):
    settings.CHAT_EDIT_WINDOW_SECONDS = 1
    said.created_at = said.created_at.replace(year=said.created_at.year - 1)
    await sync_to_async(said.save)(update_fields=["created_at"])
    socket = await connect(alice)
    await socket.send({"type": "message.edit", "id": said.id, "body": "x"})
    assert (await socket.recv())["code"] == "edit_window"


async def test_a_missing_message_is_not_found(connect, alice, said):
    socket = await connect(alice)
    await socket.send({"type": "message.delete", "id": said.id + 1000})
    assert (await socket.recv())["code"] == "not_found"


# --- catching up --------------------------------------------------------------------


@pytest.fixture
def offline_changes(alice, bob, said):
    """While bob was away (his cursors taken before): alice edited her lobby
    message, deleted a direct message to him, and he reacted (elsewhere)."""
    direct, _ = store_message(sender=alice.user, to="bob", body="oops")
    last_id, cursor = direct.id, last_change_id()
    edit = store_edit(user=alice.user, message_id=said.id, body="hello").change
    deletion = store_deletion(user=alice.user, message_id=direct.id).change
    reaction = store_reaction(
        user=bob.user, message_id=said.id, emoji="🎉", add=True
    ).change
    return last_id, cursor, [edit, deletion, reaction]


async def test_sync_with_changes_after_sends_each_missed_change_once_in_order(
    connect, bob, offline_changes
):
    """A sync from bob's cursors: no message (none is new), the three changes in
    two conversations in change_id order, as live, then sync.done with the
    last change_id; the same sync from there sends nothing again."""
    last_id, cursor, changes = offline_changes
    socket = await connect(bob)
    assert socket.hello["last_change_id"] == changes[-1].id
    await socket.send({"type": "sync", "after": last_id, "changes_after": cursor})
    frames = await socket.recv_many(4)
    assert [(f["type"], f.get("change_id")) for f in frames[:3]] == [
        ("message.edited", changes[0].id),
        ("message.deleted", changes[1].id),
        ("message.reactions", changes[2].id),
    ]
    assert frames[0]["body"] == "hello"
    assert frames[3] == {
        "type": "sync.done",
        "last_id": last_id,
        "more": False,
        "last_change_id": changes[-1].id,
    }
    await socket.assert_silent()
    await socket.send(
        {"type": "sync", "after": last_id, "changes_after": changes[-1].id}
    )
    await socket.expect_only(
        {
            "type": "sync.done",
            "last_id": last_id,
            "more": False,
            "last_change_id": changes[-1].id,
        }
    )


async def test_sync_without_changes_after_is_v1(connect, bob, offline_changes):
    """No changes_after: the messages only, and sync.done as v1 has it."""
    last_id, _, _ = offline_changes
    socket = await connect(bob)
    await socket.send({"type": "sync", "after": last_id})
    await socket.expect_only({"type": "sync.done", "last_id": last_id, "more": False})


async def test_a_message_newer_than_after_comes_whole_and_its_changes_not_again(
    connect, bob, offline_changes, said
):
    """Synced from before both messages: each comes in its current state (the
    lobby's edited, with bob's reaction; the direct one a tombstone), and no
    change frame follows, since every change is to a message sent whole."""
    _, cursor, changes = offline_changes
    socket = await connect(bob)
    await socket.send({"type": "sync", "after": said.id - 1, "changes_after": cursor})
    lobby_message, direct_message, done = await socket.recv_many(3)
    assert (lobby_message["id"], lobby_message["body"]) == (said.id, "hello")
    assert lobby_message["edited_at"] is not None
    assert lobby_message["reactions"][0]["emoji"] == "🎉"
    assert (direct_message["deleted"], direct_message["body"]) == (True, "")
    assert done["type"] == "sync.done"
    assert done["last_change_id"] == changes[-1].id
    await socket.assert_silent()


async def test_changes_page_with_limit_and_more(connect, bob, offline_changes):
    """limit 2: two changes, more, and last_change_id the last one sent; the
    next sync from there sends the third."""
    last_id, cursor, changes = offline_changes
    socket = await connect(bob)
    sync = {"type": "sync", "after": last_id, "limit": 2}
    await socket.send({**sync, "changes_after": cursor})
    first, second, done = await socket.recv_many(3)
    assert [first["change_id"], second["change_id"]] == [c.id for c in changes[:2]]
    assert done == {
        "type": "sync.done",
        "last_id": last_id,
        "more": True,
        "last_change_id": changes[1].id,
    }
    await socket.send({**sync, "changes_after": changes[1].id})
    third, done = await socket.recv_many(2)
    assert third["change_id"] == changes[2].id
    assert (done["more"], done["last_change_id"]) == (False, changes[2].id)


async def test_changes_after_below_the_horizon_is_a_reset(
    connect, bob, offline_changes
):
    """Changes above the cursor were pruned: sync.reset, and no sync.done."""
    last_id, cursor, changes = offline_changes
    await sync_to_async(ChangeHorizon.objects.update_or_create)(
        pk=1, defaults={"pruned_through": changes[0].id}
    )
    socket = await connect(bob)
    await socket.send({"type": "sync", "after": last_id, "changes_after": cursor})
    await socket.expect_only({"type": "sync.reset", "reason": "changes_expired"})


async def test_a_bad_changes_after_is_invalid(connect, bob):
    socket = await connect(bob)
    await socket.send({"type": "sync", "changes_after": "x", "client_id": "s1"})
    error = await socket.recv()
    assert (error["code"], error["client_id"]) == ("invalid", "s1")


async def test_after_a_layer_outage_a_connection_is_caught_up_on_changes_too(
    connect, alice, bob, said
):
    """A message and an edit stored but never published (the layer was down):
    when the layer is back, bob's connection is sent the message, then the
    edit, unasked, and nothing else."""
    from chat.realtime.runtime import current

    socket = await connect(bob)
    edit = await sync_to_async(store_edit)(
        user=alice.user, message_id=said.id, body="hello"
    )
    later, _ = await sync_to_async(store_message)(
        sender=alice.user, room="lobby", body="and another"
    )
    assert await current().connections.renew_all(after_outage=True)
    message, edited = await socket.recv_many(2)
    assert (message["type"], message["id"]) == ("message", later.id)
    assert (edited["type"], edited["change_id"]) == ("message.edited", edit.change.id)
    await socket.assert_silent()

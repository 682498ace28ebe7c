"""Moderation on open sockets (docs/protocol.md, "Moderation"): a ban takes a
user's sockets out of the room at once, a mute refuses what they write with
`muted` and its `until`, and both end at their expiry with no job run.

Through the whole ASGI stack, on the engines of the run (SQLite + in-memory
layer, or PostgreSQL + Redis, where a sender's message takes the one-trip
insert).
"""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chat.models import Message, Mute
from chat.services import moderation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(settings):
    """No heartbeat `ping` falls inside exact frame counts."""
    settings.CHAT_HEARTBEAT_SECONDS = 60


def send(body: str, client_id: str, **target) -> dict:
    return {"type": "message.send", "body": body, "client_id": client_id, **target}


async def test_a_ban_stops_the_room_on_every_tab_and_refuses_a_rejoin(
    connect, alice, bob, lobby
):
    """Both of bob's tabs get room.left "banned", then nothing of the lobby;
    his room.join is refused (forbidden, saying banned)."""
    owner = await connect(alice)
    tabs = [await connect(bob), await connect(bob)]
    await sync_to_async(moderation.ban)(slug="lobby", username="bob", actor=alice.user)
    for tab in tabs:
        assert await tab.recv() == {
            "type": "room.left",
            "room": "lobby",
            "reason": "banned",
        }
    await owner.send(send("after", "a1", room="lobby"))
    await owner.send(send("sentinel", "a2", to="bob"))
    for tab in tabs:
        assert (await tab.recv())["body"] == "sentinel"
        await tab.assert_silent()
    await tabs[0].send({"type": "room.join", "room": "lobby"})
    error = await tabs[0].recv()
    assert (error["type"], error["code"]) == ("error", "forbidden")
    assert "banned" in error["detail"]
    # sync reads the database: the message sent after the ban is not there.
    await tabs[0].send({"type": "sync", "after": 0})
    frames = [await tabs[0].recv(), await tabs[0].recv()]
    assert [f.get("body") for f in frames] == ["sentinel", None]
    assert frames[1]["type"] == "sync.done"


async def test_a_muted_member_is_refused_with_until_and_still_reads(
    connect, alice, bob, lobby
):
    """bob's message.send, message.edit and reaction.add get `muted` with the
    mute's until (nothing stored); alice's messages still reach him; once the
    mute has expired (no job run) his next message is stored."""
    owner, muted = await connect(alice), await connect(bob)
    earlier = await sync_to_async(Message.objects.create)(
        conversation=lobby, sender=bob.user, body="before", client_id="old"
    )
    mute = await sync_to_async(moderation.mute)(
        slug="lobby", username="bob", actor=alice.user, expires_in=600
    )
    until = mute.expires_at.isoformat().replace("+00:00", "Z")
    frames = [
        send("hush?", "b1", room="lobby"),
        {"type": "message.edit", "id": earlier.id, "body": "x", "client_id": "b2"},
        {"type": "reaction.add", "id": earlier.id, "emoji": "👍", "client_id": "b3"},
    ]
    for frame in frames:
        await muted.send(frame)
        error = await muted.recv()
        assert (error["type"], error["code"], error["client_id"]) == (
            "error",
            "muted",
            frame["client_id"],
        )
        assert error["until"] == until
    assert not await sync_to_async(Message.objects.filter(client_id="b1").exists)()
    await owner.send(send("you can read", "a1", room="lobby"))
    assert (await muted.recv())["body"] == "you can read"
    await owner.recv()  # alice's own copy
    await owner.recv()  # and her ack
    past = timezone.now() - timedelta(seconds=1)
    await sync_to_async(Mute.objects.filter(user=bob.user).update)(expires_at=past)
    await muted.send(send("free", "b4", room="lobby"))
    frames = [await muted.recv(), await muted.recv()]
    assert {f["type"] for f in frames} == {"message", "ack"}


async def test_a_muted_retry_of_a_message_sent_before_is_acknowledged(
    connect, alice, bob, lobby
):
    """A client_id stored before the mute answers with its ack, not `muted`:
    a retry of what got through is no new message."""
    muted = await connect(bob)
    await muted.send(send("in time", "b1", room="lobby"))
    first = [await muted.recv(), await muted.recv()]
    ack = next(f for f in first if f["type"] == "ack")
    await sync_to_async(moderation.mute)(slug="lobby", username="bob", actor=alice.user)
    await muted.send(send("in time", "b1", room="lobby"))
    assert await muted.recv() == ack

"""Replies and mentions as clients see them: `message.send` with `reply_to` and
@mentions over the WebSocket, the HTTP posts, and the unread and mention counts
of the lists, the room detail and the `read` frame."""

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from accounts.tokens import create_token
from chat.models import Membership, Message
from chat.selectors import direct_conversations_of, rooms_of
from chat.services.messages import send_message
from tests.chat.communicator import assert_all_silent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(settings):
    """No heartbeat `ping` falls inside exact frame counts."""
    settings.CHAT_HEARTBEAT_SECONDS = 60


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(user=user)[1]}")
    return client


send = database_sync_to_async(send_message)


# --- over the WebSocket ---------------------------------------------------------------


async def test_a_reply_and_a_mention_reach_every_member_with_the_message(
    connect, alice, bob, lobby
):
    """A reply that mentions bob: the ack, then one `message` frame to each tab
    with `reply_to` the parent's id and `mentions` bob's."""
    parent, _ = await send(sender=bob.user, room="lobby", body="question")
    sender, member = await connect(alice), await connect(bob)
    await sender.send(
        {
            "type": "message.send",
            "room": "lobby",
            "body": "@bob here is the answer",
            "client_id": "r1",
            "reply_to": parent.pk,
        }
    )
    ack = await sender.recv()
    assert ack == {"type": "ack", "client_id": "r1", "id": ack["id"]}
    for socket in (sender, member):
        frame = await socket.recv()
        assert (frame["id"], frame["reply_to"], frame["mentions"]) == (
            ack["id"],
            parent.pk,
            [bob.user.pk],
        )
    await assert_all_silent(sender, member)


async def test_a_reply_to_another_conversation_is_refused(connect, alice, bob, lobby):
    """reply_to of a direct message (or of no message): `invalid` with the
    client_id, nothing stored, nobody told."""
    direct, _ = await send(sender=alice.user, to="bob", body="private")
    sender, member = await connect(alice), await connect(bob)
    for reply_to, client_id in [(direct.pk, "x1"), (direct.pk + 1000, "x2")]:
        await sender.send(
            {
                "type": "message.send",
                "room": "lobby",
                "body": "re",
                "client_id": client_id,
                "reply_to": reply_to,
            }
        )
        error = await sender.recv()
        assert (error["type"], error["code"], error["client_id"]) == (
            "error",
            "invalid",
            client_id,
        )
    await assert_all_silent(sender, member)
    assert not await database_sync_to_async(Message.objects.filter(body="re").exists)()


async def test_all_in_a_big_room_is_forbidden_to_a_member(
    connect, make_user, make_room, alice, bob
):
    """In a room of more than 15 members a member's @all gets `forbidden`; the
    owner's reaches the room mentioning everyone else."""
    others = await database_sync_to_async(
        lambda: [make_user(f"member{n}") for n in range(14)]
    )()
    await database_sync_to_async(make_room)(
        "big", owner=alice.user, members=[bob.user, *others]
    )
    owner, member = await connect(alice), await connect(bob)
    await member.send(
        {"type": "message.send", "room": "big", "body": "@all", "client_id": "m1"}
    )
    error = await member.recv()
    assert (error["code"], error["client_id"]) == ("forbidden", "m1")
    await owner.send(
        {"type": "message.send", "room": "big", "body": "@room", "client_id": "o1"}
    )
    assert (await owner.recv())["type"] == "ack"
    frame = await member.recv()
    assert frame["mentions"] == sorted([bob.user.pk, *(u.pk for u in others)])
    assert (await owner.recv())["id"] == frame["id"]
    await assert_all_silent(owner, member)


async def test_the_read_frame_carries_the_unread_mentions(connect, alice, bob, lobby):
    """`read` says how many unread messages still mention the reader."""
    first, _ = await send(sender=alice.user, room="lobby", body="@bob one")
    second, _ = await send(sender=alice.user, room="lobby", body="@bob two")
    reader = await connect(bob)
    await reader.send({"type": "read", "room": "lobby", "id": first.pk})
    assert await reader.recv() == {
        "type": "read",
        "room": "lobby",
        "with": None,
        "id": first.pk,
        "unread": 1,
        "mentions": 1,
    }
    await reader.send({"type": "read", "room": "lobby", "id": second.pk})
    frame = await reader.recv()
    assert (frame["unread"], frame["mentions"]) == (0, 0)


# --- over HTTP ------------------------------------------------------------------------


def test_http_posts_take_reply_to(alice, bob, lobby):
    """POST to a room or a user with reply_to: 201 and the message with it; a
    parent of another conversation: 400 `invalid`."""
    client = api_for(alice.user)
    parent, _ = send_message(sender=bob.user, room="lobby", body="question")
    response = client.post(
        "/api/rooms/lobby/messages/",
        {"body": "@bob answer", "reply_to": parent.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["reply_to"], response.json()["mentions"]) == (
        parent.pk,
        [bob.user.pk],
    )
    response = client.post(
        "/api/dm/bob/messages/", {"body": "re", "reply_to": parent.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    direct = client.post("/api/dm/bob/messages/", {"body": "hi"}, format="json").json()
    response = client.post(
        "/api/dm/bob/messages/", {"body": "re", "reply_to": direct["id"]}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["reply_to"] == direct["id"]


def test_lists_show_unread_and_mentions_apart(alice, bob, lobby):
    """GET /api/rooms/, the room detail and GET /api/dm/ count unread messages
    and those that mention me, each; reading clears both."""
    send_message(sender=alice.user, room="lobby", body="hello")
    send_message(sender=alice.user, room="lobby", body="@bob look")
    last, _ = send_message(sender=alice.user, room="lobby", body="@all too")
    dm, _ = send_message(sender=alice.user, to="bob", body="@bob psst")
    client = api_for(bob.user)
    [room] = client.get("/api/rooms/").json()
    assert (room["unread"], room["mentions"]) == (3, 2)
    detail = client.get("/api/rooms/lobby/").json()
    assert (detail["unread"], detail["mentions"]) == (3, 2)
    [direct] = client.get("/api/dm/").json()
    assert (direct["unread"], direct["mentions"]) == (1, 1)
    # The sender is never mentioned by her own messages.
    [alices_room] = api_for(alice.user).get("/api/rooms/").json()
    assert alices_room["mentions"] == 0
    response = client.post("/api/rooms/lobby/read/", {"id": last.pk}, format="json")
    assert (response.json()["unread"], response.json()["mentions"]) == (0, 0)
    [room] = client.get("/api/rooms/").json()
    assert room["mentions"] == 0
    assert (
        Membership.objects.get(user=bob.user, conversation=lobby).unread_mentions == 0
    )


def test_a_public_room_i_am_not_in_counts_no_mentions(make_user, alice, bob, lobby):
    """A stranger sees a public room with no unread messages and no mentions."""
    send_message(sender=alice.user, room="lobby", body="@all hi")
    stranger = api_for(make_user("stranger"))
    [room] = stranger.get("/api/rooms/").json()
    assert (room["member"], room["unread"], room["mentions"]) == (False, 0, 0)


def test_the_pages_sidebar_data_counts_mentions_apart(alice, bob, lobby):
    """The app shell's lists (rooms_of, direct_conversations_of) carry
    `mentions` beside `unread`, for the pages' badges."""
    send_message(sender=alice.user, room="lobby", body="hello @bob")
    send_message(sender=alice.user, room="lobby", body="hello")
    send_message(sender=alice.user, to="bob", body="@bob hi")
    [room] = rooms_of(bob.user)
    assert (room.unread, room.mentions) == (2, 1)
    [(direct, other)] = direct_conversations_of(bob.user)
    assert (other, direct.unread, direct.mentions) == (alice.user, 1, 1)

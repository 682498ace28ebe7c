"""`typing` and `read` frames, through the whole ASGI stack, and the read API.

Typing is ephemeral and relayed to the other members only; a read position is
stored, only moves forward, and reaches the reader's own connections so that
their unread counts clear.
"""

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from accounts.tokens import create_token
from chat.models import Membership
from chat.realtime.clock import ManualClock
from chat.services.messages import send_message
from tests.chat.communicator import (
    assert_all_silent,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(settings):
    """No heartbeat inside exact counts; a short typing interval."""
    settings.CHAT_HEARTBEAT_SECONDS = 60
    settings.CHAT_TYPING_INTERVAL_SECONDS = 30


# --- typing ---------------------------------------------------------------------------


async def test_room_typing_reaches_other_members_once_not_the_sender(
    connect, alice, bob, carol, lobby
):
    """Typing in a room reaches each other member's tab once, never the typist's."""
    alice_1, alice_2 = await connect(alice), await connect(alice)
    bob_1 = await connect(bob)
    outsider = await connect(carol)
    await alice_1.send({"type": "typing", "room": "lobby"})
    expected = {"type": "typing", "room": "lobby", "user": alice.public}
    assert await bob_1.recv() == expected
    # Throttled: a second frame within the interval relays nothing.
    await alice_1.send({"type": "typing", "room": "lobby"})
    await assert_all_silent(alice_1, alice_2, bob_1, outsider)


async def test_direct_typing_reaches_the_other_user_only(connect, alice, bob, carol):
    """Typing to a user reaches every tab of that user, with who is typing."""
    alice_1 = await connect(alice)
    bob_1, bob_2 = await connect(bob), await connect(bob)
    outsider = await connect(carol)
    await alice_1.send({"type": "typing", "to": "bob"})
    expected = {"type": "typing", "room": None, "user": alice.public}
    assert await bob_1.recv() == expected
    assert await bob_2.recv() == expected
    await assert_all_silent(alice_1, bob_1, bob_2, outsider)


async def test_typing_throttle_is_per_conversation(connect, alice, bob, lobby):
    """The throttle holds back repeats, not typing in another conversation."""
    alice_1, bob_1 = await connect(alice), await connect(bob)
    await alice_1.send({"type": "typing", "room": "lobby"})
    await alice_1.send({"type": "typing", "room": "lobby"})
    await alice_1.send({"type": "typing", "to": "bob"})
    frames = await bob_1.recv_many(2)
    assert [f["room"] for f in frames] == ["lobby", None]
    await assert_all_silent(alice_1, bob_1)


async def test_typing_after_the_interval_is_relayed_again(
    connect, alice, bob, lobby, runtime
):
    """Once the interval has passed, typing is relayed again."""
    runtime.clock = clock = ManualClock()
    alice_1, bob_1 = await connect(alice), await connect(bob)
    await alice_1.send({"type": "typing", "room": "lobby"})
    assert (await bob_1.recv())["type"] == "typing"
    await clock.advance(30)  # CHAT_TYPING_INTERVAL_SECONDS
    await alice_1.send({"type": "typing", "room": "lobby"})
    assert [f["type"] for f in await bob_1.recv_many(1)] == ["typing"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "typing", "room": "lobby"}, "forbidden"),
        ({"type": "typing", "room": "nowhere"}, "not_found"),
        ({"type": "typing", "to": "nobody"}, "not_found"),
        ({"type": "typing", "to": "carol"}, "invalid"),
        ({"type": "typing"}, "invalid"),
        ({"type": "typing", "room": "lobby", "to": "bob"}, "invalid"),
        ({"type": "typing", "room": 5}, "invalid"),
    ],
)
async def test_bad_typing_gets_an_error_and_relays_nothing(
    connect, alice, bob, carol, lobby, frame, code
):
    """A stranger's or malformed typing frame is refused and reaches no one."""
    outsider, alice_1, bob_1 = (
        await connect(carol),
        await connect(alice),
        await connect(bob),
    )
    await outsider.send(frame)
    answer = await outsider.recv()
    assert (answer["type"], answer["code"]) == ("error", code)
    await assert_all_silent(outsider, alice_1, bob_1)


# --- read positions over the WebSocket ---------------------------------------------


async def test_read_frame_stores_and_reaches_every_tab_of_the_reader(
    connect, alice, bob, lobby
):
    """A read moves the stored position and clears unread on the reader's tabs."""
    first, _ = await database_sync_to_async(send_message)(
        sender=alice.user, room="lobby", body="one"
    )
    second, _ = await database_sync_to_async(send_message)(
        sender=alice.user, room="lobby", body="two"
    )
    bob_1, bob_2, alice_1 = await connect(bob), await connect(bob), await connect(alice)
    await bob_1.send({"type": "read", "room": "lobby", "id": first.id})
    expected = {
        "type": "read",
        "room": "lobby",
        "with": None,
        "id": first.id,
        "unread": 1,
        "mentions": 0,
    }
    assert await bob_1.recv() == expected
    assert await bob_2.recv() == expected
    # Never backwards: an older id changes nothing and says nothing.
    await bob_2.send({"type": "read", "room": "lobby", "id": first.id - 1})
    await assert_all_silent(bob_1, bob_2, alice_1)
    membership = Membership.objects.filter(user=bob.user, conversation=lobby)
    read_id = await database_sync_to_async(lambda: membership.get().last_read_id)()
    assert read_id == first.id
    await bob_2.send({"type": "read", "room": "lobby", "id": second.id})
    assert (await bob_1.recv())["unread"] == 0
    assert (await bob_2.recv())["id"] == second.id


async def test_direct_read_names_the_other_user(connect, alice, bob):
    """A read of a direct conversation is told with the other user as `with`."""
    message, _ = await database_sync_to_async(send_message)(
        sender=alice.user, to="bob", body="hi"
    )
    bob_1 = await connect(bob)
    await bob_1.send({"type": "read", "to": "alice", "id": message.id + 1000})
    assert await bob_1.recv() == {
        "type": "read",
        "room": None,
        "with": alice.public,
        "id": message.id,  # never past the newest message
        "unread": 0,
        "mentions": 0,
    }


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "read", "room": "lobby", "id": 1}, "forbidden"),
        ({"type": "read", "room": "lobby"}, "invalid"),
        ({"type": "read", "room": "lobby", "id": -1}, "invalid"),
        ({"type": "read", "to": "carol", "id": 1}, "invalid"),
        ({"type": "read", "id": 1}, "invalid"),
        ({"type": "read", "to": "nobody", "id": 1}, "not_found"),
    ],
)
async def test_bad_read_gets_an_error(connect, alice, carol, lobby, frame, code):
    """A read of a room one is not in, or without a good id, is refused."""
    outsider = await connect(carol)
    await outsider.send(frame)
    answer = await outsider.recv()
    assert (answer["type"], answer["code"]) == ("error", code)
    await outsider.assert_silent()


# --- read positions and unread counts over HTTP ---------------------------------------


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(user=user)[1]}")
    return client


def test_unread_counts_follow_read_positions(alice, bob, lobby):
    """Room and DM lists count others' messages after my read position."""
    bob_api = api_for(bob.user)
    for body in ("one", "two", "three"):
        send_message(sender=alice.user, room="lobby", body=body)
    send_message(sender=bob.user, room="lobby", body="mine: never unread")
    dm, _ = send_message(sender=alice.user, to="bob", body="psst")
    [room] = bob_api.get("/api/rooms/").json()
    assert (room["unread"], room["read_id"]) == (3, 0)
    assert room["last_message_at"].endswith("Z")
    [direct] = bob_api.get("/api/dm/").json()
    assert (direct["unread"], direct["last_id"]) == (1, dm.id)
    assert direct["last_message_at"].endswith("Z")

    response = bob_api.post(
        "/api/rooms/lobby/read/", {"id": room["last_id"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "room": "lobby",
        "with": None,
        "id": room["last_id"],
        "unread": 0,
        "mentions": 0,
        "changed": True,
    }
    response = bob_api.post("/api/dm/alice/read/", {"id": dm.id}, format="json")
    assert response.json() == {
        "room": None,
        "with": alice.public,
        "id": dm.id,
        "unread": 0,
        "mentions": 0,
        "changed": True,
    }
    assert bob_api.get("/api/rooms/").json()[0]["unread"] == 0
    assert bob_api.get("/api/dm/").json()[0]["unread"] == 0
    # The sender's own unread count never counted her own messages.
    [alice_dm] = api_for(alice.user).get("/api/dm/").json()
    assert alice_dm["unread"] == 0


def test_read_over_http_never_moves_back(alice, bob, lobby):
    """An older id answers the stored position with changed false."""
    first, _ = send_message(sender=alice.user, room="lobby", body="one")
    second, _ = send_message(sender=alice.user, room="lobby", body="two")
    bob_api = api_for(bob.user)
    bob_api.post("/api/rooms/lobby/read/", {"id": second.id}, format="json")
    response = bob_api.post("/api/rooms/lobby/read/", {"id": first.id}, format="json")
    assert response.json()["id"] == second.id
    assert response.json()["changed"] is False


def test_read_over_http_refuses_strangers_and_bad_ids(alice, carol, lobby):
    """Reading a room one is not in is 403; a bad id is 400."""
    carol_api = api_for(carol.user)
    response = carol_api.post("/api/rooms/lobby/read/", {"id": 1}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    alice_api = api_for(alice.user)
    response = alice_api.post("/api/rooms/lobby/read/", {"id": "x"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    response = alice_api.post("/api/dm/nobody/read/", {"id": 1}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")

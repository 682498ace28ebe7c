"""Presence through the whole ASGI stack (docs/protocol.md, "Presence"): who is
told, how often, across tabs; the client's `presence` frame; the HTTP API.

The grace is short here; the debounce is off unless a test sets it.
"""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from chat.models import Presence
from chat.services.presence import set_hidden
from chat.services.rooms import direct_conversation_for
from tests.chat.communicator import assert_all_silent

pytestmark = pytest.mark.django_db(transaction=True)

GRACE = 0.3


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.CHAT_HEARTBEAT_SECONDS = 60
    settings.CHAT_PRESENCE_ENABLED = True
    settings.CHAT_PRESENCE_GRACE_SECONDS = GRACE
    settings.CHAT_PRESENCE_DEBOUNCE_SECONDS = 0


@pytest.fixture
def connect(connect, runtime):
    """A socket after its hello, once the presence job has told what it brings."""

    async def open_socket(who, path: str = "/ws/chat/"):
        socket = await connect(who, path)
        await runtime.presence.settled()
        return socket

    return open_socket


def presence(person, status: str) -> dict:
    return {"type": "presence", "user": person.public, "status": status}


async def recv_presence(socket) -> dict:
    frame = await socket.recv()
    assert frame["type"] == "presence", frame
    return frame


def without_time(frame: dict) -> dict:
    return {key: value for key, value in frame.items() if key != "last_active_at"}


async def test_coming_online_reaches_those_who_share_a_conversation_once(
    connect, alice, bob, carol, lobby
):
    """bob's first tab: alice's tabs get one `online` each; carol, a stranger,
    and bob himself get nothing."""
    alice_1, alice_2 = await connect(alice), await connect(alice)
    outsider = await connect(carol)
    bob_1 = await connect(bob)
    for tab in (alice_1, alice_2):
        frame = await recv_presence(tab)
        assert without_time(frame) == presence(bob, "online")
        assert frame["last_active_at"].endswith("Z")
    await assert_all_silent(alice_1, alice_2, outsider, bob_1)
    # A second tab of bob's changes nothing.
    await connect(bob)
    await assert_all_silent(alice_1, alice_2, outsider, bob_1)


async def test_a_user_sharing_a_room_and_a_direct_conversation_is_told_once(
    connect, alice, bob, lobby, make_room
):
    """alice shares two rooms and a direct conversation with bob: one frame."""
    await database_sync_to_async(make_room)(
        "kitchen", owner=alice.user, members=[bob.user]
    )
    await database_sync_to_async(direct_conversation_for)(alice.user, bob.user)
    alice_1 = await connect(alice)
    await connect(bob)
    assert without_time(await recv_presence(alice_1)) == presence(bob, "online")
    await alice_1.assert_silent()


async def test_away_only_when_every_connection_is_away(connect, alice, bob, lobby):
    """One idle tab of two changes nothing; both idle: away; input again: online."""
    alice_1 = await connect(alice)
    bob_1, bob_2 = await connect(bob), await connect(bob)
    await recv_presence(alice_1)
    await bob_1.send({"type": "presence", "status": "away"})
    await alice_1.assert_silent()
    await bob_2.send({"type": "presence", "status": "away"})
    frame = await recv_presence(alice_1)
    assert without_time(frame) == presence(bob, "away")
    assert frame["last_active_at"] is not None
    await bob_1.send({"type": "presence", "status": "online"})
    assert without_time(await recv_presence(alice_1)) == presence(bob, "online")
    await assert_all_silent(alice_1, bob_1, bob_2)


async def test_offline_after_the_grace_and_a_reload_does_not_flicker(
    connect, alice, bob, lobby
):
    """Closing bob's only tab and opening another at once sends nothing; closing
    it for good sends `offline` once the grace has passed."""
    alice_1 = await connect(alice)
    bob_1 = await connect(bob)
    await recv_presence(alice_1)
    await bob_1.communicator.disconnect()
    bob_2 = await connect(bob)  # the reload
    await asyncio.sleep(GRACE + 0.3)
    await alice_1.assert_silent()
    await bob_2.communicator.disconnect()
    await alice_1.assert_silent()  # within the grace: still online
    await asyncio.sleep(GRACE)
    frame = await recv_presence(alice_1)
    assert without_time(frame) == presence(bob, "offline")
    assert frame["last_active_at"] is not None


async def test_a_bad_status_is_an_error_and_the_connection_keeps_working(
    connect, alice, bob, lobby
):
    alice_1 = await connect(alice)
    bob_1 = await connect(bob)
    await recv_presence(alice_1)
    for status in ("offline", "busy", None, 3):
        await bob_1.send({"type": "presence", "status": status})
        error = await bob_1.recv()
        assert error["type"] == "error"
        assert error["code"] == "invalid"
    await bob_1.still_works()
    await alice_1.assert_silent()


async def test_a_change_within_the_debounce_is_sent_once_it_is_due(
    connect, alice, bob, lobby, settings
):
    """At most one frame per user per debounce: away and back within it sends
    nothing; away for longer is sent when the debounce has passed."""
    settings.CHAT_PRESENCE_DEBOUNCE_SECONDS = 0.6
    alice_1 = await connect(alice)
    bob_1 = await connect(bob)
    await recv_presence(alice_1)
    await bob_1.send({"type": "presence", "status": "away"})
    await bob_1.send({"type": "presence", "status": "online"})
    await asyncio.sleep(0.9)
    await alice_1.assert_silent()
    await bob_1.send({"type": "presence", "status": "away"})
    assert without_time(await recv_presence(alice_1)) == presence(bob, "away")
    # Back at once: told only when the debounce has passed.
    await bob_1.send({"type": "presence", "status": "online"})
    await alice_1.assert_silent()
    assert without_time(await recv_presence(alice_1)) == presence(bob, "online")
    await alice_1.assert_silent()


async def test_hidden_presence_is_never_shown(connect, alice, bob, lobby):
    """bob hides his presence: alice is told he went offline, the API shows him
    offline with no last_active_at, and his new tabs tell nobody."""
    alice_1 = await connect(alice)
    bob_1 = await connect(bob)
    await recv_presence(alice_1)
    await database_sync_to_async(set_hidden)(user=bob.user, hidden=True)
    assert await recv_presence(alice_1) == {
        **presence(bob, "offline"),
        "last_active_at": None,
    }
    await connect(bob)
    await bob_1.send({"type": "presence", "status": "away"})
    await alice_1.assert_silent()
    body = await database_sync_to_async(api_presence)(alice)
    assert body == {
        "users": [
            {
                "id": bob.user.pk,
                "username": "bob",
                "status": "offline",
                "last_active_at": None,
            }
        ]
    }
    await database_sync_to_async(set_hidden)(user=bob.user, hidden=False)
    # Shown again: online (his second tab is not away).
    assert without_time(await recv_presence(alice_1)) == presence(bob, "online")


def api_presence(person) -> dict:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {person.token}")
    response = client.get("/api/presence/")
    assert response.status_code == 200
    return response.json()


async def test_the_api_lists_who_shares_a_conversation_with_me(
    connect, alice, bob, carol, dave, lobby
):
    """GET /api/presence/: bob (a room) and carol (a direct conversation) with
    their status; dave, a stranger, and I are not listed."""
    await database_sync_to_async(direct_conversation_for)(alice.user, carol.user)
    await connect(bob)
    bob_2 = await connect(bob)
    await bob_2.send({"type": "presence", "status": "away"})
    await asyncio.sleep(0.2)
    body = await database_sync_to_async(api_presence)(alice)
    users = {user["username"]: user for user in body["users"]}
    assert set(users) == {"bob", "carol"}
    assert users["bob"]["status"] == "online"
    assert users["bob"]["last_active_at"].endswith("Z")
    assert users["carol"] == {
        "id": carol.user.pk,
        "username": "carol",
        "status": "offline",
        "last_active_at": None,
    }


async def test_the_member_list_has_each_members_status(connect, alice, bob, lobby):
    await connect(bob)
    await asyncio.sleep(0.2)

    def members() -> list:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {alice.token}")
        return client.get("/api/rooms/lobby/members/").json()

    listed = await database_sync_to_async(members)()
    assert {m["user"]["username"]: m["status"] for m in listed} == {
        "alice": "offline",
        "bob": "online",
    }
    row = await Presence.objects.aget(pk=bob.user.pk)
    assert row.status == "online"
    assert json.loads(json.dumps(listed))  # plain JSON


def test_the_account_page_hides_and_shows_my_presence(client, make_user):
    """The account page's checkbox is the setting: saved, shown checked."""
    bob = make_user("bob")
    client.force_login(bob)
    page = client.get("/accounts/settings/")
    assert page.status_code == 200
    assert 'name="hide_presence"' in page.text
    assert "checked" not in page.text.split('name="hide_presence"')[1].split(">")[0]
    saved = client.post(
        "/accounts/settings/",
        {"action": "presence", "hide_presence": "on"},
        follow=True,
    )
    assert saved.status_code == 200
    assert Presence.objects.get(pk=bob.pk).hidden
    assert "checked" in saved.text.split('name="hide_presence"')[1].split(">")[0]
    client.post("/accounts/settings/", {"action": "presence"})
    assert not Presence.objects.get(pk=bob.pk).hidden


def test_the_account_page_needs_a_login(client):
    assert client.get("/accounts/settings/").status_code == 302

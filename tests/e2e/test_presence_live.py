"""Presence against a real daphne (docs/protocol.md, "Presence"): the frames a
client sees as another comes, goes idle and leaves, and GET /api/presence/."""

import time

import pytest
from asgiref.sync import sync_to_async

from tests.live import http_json, open_chat

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PRESENCE = {
    "CHAT_PRESENCE_ENABLED": "1",
    "CHAT_PRESENCE_GRACE_SECONDS": "1",
    "CHAT_PRESENCE_DEBOUNCE_SECONDS": "0",
    "CHAT_HEARTBEAT_SECONDS": "30",
}


async def next_presence(chat, timeout: float = 5) -> dict:
    frames = await chat.recv_until("presence", timeout)
    return frames[-1]


async def test_a_client_sees_another_come_go_idle_and_leave(
    start_daphne, alice, bob, dave, lobby
):
    server = await sync_to_async(start_daphne)(**PRESENCE)
    async with open_chat(server, alice.token) as a, open_chat(server, dave.token) as d:
        async with open_chat(server, bob.token) as b:
            came = await next_presence(a)
            assert came["user"] == bob.payload
            assert came["status"] == "online"
            assert came["last_active_at"].endswith("Z")
            await b.send(type="presence", status="away")
            went_idle = await next_presence(a)
            assert went_idle["status"] == "away"
            status, _, body = await sync_to_async(http_json)(
                "GET", f"{server.http_url}/api/presence/", token=alice.token
            )
            assert status == 200
            listed = {user["username"]: user for user in body["users"]}
            assert listed["bob"]["status"] == "away"
            assert "dave" not in listed  # shares nothing with alice
            assert "alice" not in listed
        closed_at = time.monotonic()
        left = await next_presence(a, timeout=5)
        assert left["status"] == "offline"
        assert time.monotonic() - closed_at >= 0.8  # after the grace, not before
        await d.assert_silent(0.3)  # dave, a stranger, heard nothing of bob

"""Presence across two daphne processes on PostgreSQL + Redis: a user's status
is the sum of their connections on both, and a process killed by SIGKILL
leaves no one online (its records run out in Redis)."""

import asyncio
import time
from datetime import datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from chat.services.presence import has_open_page, was_online_at
from tests.live import http_json, open_chat

from .support import SERVICES_ONLY

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), SERVICES_ONLY]

TTL = 4.0
PRESENCE = {
    "CHAT_PRESENCE_ENABLED": "1",
    "CHAT_PRESENCE_GRACE_SECONDS": "1",
    "CHAT_PRESENCE_DEBOUNCE_SECONDS": "0",
    "CHAT_PRESENCE_TTL_SECONDS": str(TTL),
    "CHAT_HEARTBEAT_SECONDS": "30",
}


async def next_presence(chat, timeout: float = 5) -> dict:
    return (await chat.recv_until("presence", timeout))[-1]


async def test_status_is_summed_over_processes(start_daphnes, alice, bob, lobby):
    """bob away on process 1 and online on 2 is online; away on both, away;
    his tab on 2 closing leaves him away (1 still holds one)."""
    one, two = await sync_to_async(start_daphnes)(2, **PRESENCE)
    async with open_chat(two, alice.token) as a:
        async with open_chat(one, bob.token) as b1:
            assert (await next_presence(a))["status"] == "online"
            async with open_chat(two, bob.token) as b2:
                await b1.send(type="presence", status="away")
                await a.assert_silent(0.5)
                await b2.send(type="presence", status="away")
                assert (await next_presence(a))["status"] == "away"
                await b2.send(type="presence", status="online")
                assert (await next_presence(a))["status"] == "online"
            # The online tab closed: after the grace, the away one on 1 is left.
            assert (await next_presence(a, timeout=5))["status"] == "away"
        assert (await next_presence(a, timeout=5))["status"] == "offline"


async def test_a_killed_process_leaves_no_one_online(start_daphnes, alice, bob, lobby):
    """Process 1, serving bob's only tab, dies by SIGKILL (closing nothing):
    alice, on process 2, is told bob is offline within the TTL; the API on 2
    agrees, and bob has no open page."""
    one, two = await sync_to_async(start_daphnes)(2, **PRESENCE)
    async with open_chat(two, alice.token) as a:
        async with open_chat(one, bob.token):
            came = await next_presence(a)
            assert came["status"] == "online"
            assert await sync_to_async(has_open_page)(bob.id)
            await asyncio.sleep(TTL / 4 + 0.5)  # a renewal: alive until then
            one.kill()
            killed_at = time.monotonic()
            left = await next_presence(a, timeout=TTL + 3)
            took = time.monotonic() - killed_at
        assert left["status"] == "offline"
        assert took <= TTL + 1, f"offline {took:.1f} s after the kill"
    status, _, body = await sync_to_async(http_json)(
        "GET", f"{two.http_url}/api/presence/", token=alice.token
    )
    assert status == 200
    assert {u["username"]: u["status"] for u in body["users"]}["bob"] == "offline"
    assert not await sync_to_async(has_open_page)(bob.id)
    came_at = datetime.fromisoformat(came["last_active_at"])
    assert await sync_to_async(was_online_at)(bob.id, came_at)
    assert not await sync_to_async(was_online_at)(bob.id, came_at + timedelta(days=1))
    await sync_to_async(connections.close_all)()

"""Redis through Sentinel (REDIS_SENTINELS): channels-redis' own Sentinel pool."""

import asyncio

import pytest

from tests.live import http_json

from .support import SERVICES_ONLY, ChatClient, SentinelServer, until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), SERVICES_ONLY]


@pytest.fixture
def sentinel(own_redis, tmp_path):
    server = SentinelServer(tmp_path, own_redis).start()
    yield server
    server.stop()


async def test_two_processes_through_sentinel(
    start_daphnes, sentinel, own_redis, alice, bob, lobby
):
    """With REDIS_SENTINELS the processes find the master through Sentinel and
    deliver live; REDIS_URL's host is not used."""
    one, two = start_daphnes(
        2,
        REDIS_URL="redis://unused.invalid:1/0",
        REDIS_SENTINELS=f"127.0.0.1:{sentinel.port}",
        REDIS_SENTINEL_MASTER="mymaster",
    )
    status, _, body = await asyncio.to_thread(
        http_json, "GET", f"{one.http_url}/healthz"
    )
    assert (status, body["channel_layer"]) == (200, {"ok": True})
    a = ChatClient("alice", alice.token, [one]).start()
    b = ChatClient("bob", bob.token, [two]).start()
    await asyncio.gather(a.synced.wait(), b.synced.wait())
    sent = await a.send("via sentinel", room=lobby)
    await until(lambda: sent in b.messages, timeout=10)
    for client in (a, b):
        await client.stop()

"""Connections older than the layer's group expiry or daphne's socket timeout,
with the clock shortened to seconds."""

import asyncio

import pytest

from tests.live import close_code, open_chat

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


async def test_live_delivery_outlasts_group_expiry(start_daphne, alice, bob, lobby):
    """A socket open for over twice group_expiry still gets room and direct messages."""
    server = start_daphne(CHAT_GROUP_EXPIRY_SECONDS="2")
    async with open_chat(server, bob.token) as b, open_chat(server, alice.token) as a:
        await asyncio.sleep(5)
        await a.send(type="message.send", room=lobby, body="still", client_id="x1")
        await a.send(type="message.send", to="bob", body="there?", client_id="x2")
        got = [await b.recv(timeout=5), await b.recv(timeout=5)]
        assert [(f["type"], f["body"]) for f in got] == [
            ("message", "still"),
            ("message", "there?"),
        ]


async def test_daphne_timeout_close_then_reconnect_and_sync(
    start_daphne, alice, bob, lobby
):
    """daphne's --websocket_timeout closes with 1000; the reconnect's sync brings
    what was sent meanwhile."""
    server = start_daphne(args=("--websocket_timeout", "2"))
    async with open_chat(server, bob.token) as b:
        last_id = b.hello["last_id"]
        assert await close_code(b.ws, timeout=10) == 1000
    async with open_chat(server, alice.token) as a:
        await a.send(type="message.send", room=lobby, body="gap", client_id="g1")
        ack = await a.recv()
    async with open_chat(server, bob.token) as b:
        await b.send(type="sync", after=last_id)
        frames = await b.recv_until("sync.done")
        assert [f["id"] for f in frames if f["type"] == "message"] == [ack["id"]]

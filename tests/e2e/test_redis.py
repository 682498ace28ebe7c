"""Behaviour that only a shared Redis layer can break."""

import asyncio

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from tests.live import message_frame, open_chat

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.REDIS_URL,
        reason="needs REDIS_URL: the in-memory layer has no Redis socket whose "
        "read timeout could close idle WebSockets (channels_redis#422)",
    ),
]

IDLE_SECONDS = 12.5


async def test_idle_websocket_stays_open_and_still_receives(
    start_daphne, alice, bob, lobby
):
    """A socket silent for over 12 s is not closed (1011) and still gets messages."""
    # No heartbeat during the test: the socket is idle on both sides.
    server = start_daphne(CHAT_HEARTBEAT_SECONDS="60")
    async with open_chat(server, bob.token) as b:
        try:
            frame = await b.recv(timeout=IDLE_SECONDS)
        except TimeoutError:
            pass
        except ConnectionClosed as exc:
            raise AssertionError(
                f"the server closed an idle socket ({exc}): is the Redis socket "
                "timeout back (channels_redis#422)?"
            ) from exc
        else:
            raise AssertionError(f"an idle socket got {frame!r}")
        async with open_chat(server, alice.token) as a:
            await a.send(
                type="message.send", room="lobby", body="awake?", client_id="i"
            )
            ack = await a.recv()
            assert ack == {"type": "ack", "client_id": "i", "id": ack["id"]}
        assert await b.recv() == message_frame(
            id=ack["id"],
            room="lobby",
            sender=alice.payload,
            body="awake?",
            client_id="i",
        )
        await b.ws.send("ping")
        assert await asyncio.wait_for(b.ws.recv(), 5) == "pong"

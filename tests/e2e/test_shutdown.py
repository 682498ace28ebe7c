"""SIGTERM: every WebSocket is closed with 1012 "server restarting", then exit."""

import asyncio
import base64
import os
import signal
import socket
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.live import bearer, http_json, open_chat, recv_frame

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RESTART = 1012
REASON = "server restarting"


async def closed_with(ws, timeout: float = 5) -> tuple[int, str]:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except ConnectionClosed:
        return ws.close_code, ws.close_reason


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


async def test_sigterm_closes_every_socket_with_restart_and_exits(
    start_daphne, alice, bob, carol
):
    """Each open socket gets 1012 "server restarting"; the process exits in seconds."""
    server = start_daphne()
    async with (
        open_chat(server, alice.token) as a,
        open_chat(server, bob.token) as b,
        open_chat(server, carol.token) as c,
    ):
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        closes = await asyncio.gather(*(closed_with(x.ws) for x in (a, b, c)))
        closed_after = time.monotonic() - started
        assert closes == [(RESTART, REASON)] * 3
        assert closed_after < 3, f"sockets closed after {closed_after:.1f}s"
        assert await asyncio.to_thread(server.process.wait, 10) == 0
        exited_after = time.monotonic() - started
        assert exited_after < 5, f"exited after {exited_after:.1f}s"
        assert refused(server.port)
    assert "drained in" in server.log()


async def test_during_the_drain_health_says_shutting_down_and_handshakes_close(
    start_daphne, alice, bob
):
    """With a listening delay: /healthz is 503 and a new socket is closed at once."""
    server = start_daphne(CHAT_SHUTDOWN_DELAY_SECONDS="3")
    async with open_chat(server, alice.token) as a:
        server.process.send_signal(signal.SIGTERM)
        assert await closed_with(a.ws) == (RESTART, REASON)
        status, _, body = await asyncio.to_thread(
            http_json, "GET", f"{server.http_url}/healthz"
        )
        assert (status, body) == (503, {"status": "shutting down"})
        async with connect(
            f"{server.ws_url}/ws/chat/",
            additional_headers=bearer(bob.token),
            proxy=None,
        ) as late:
            with pytest.raises(ConnectionClosed):
                await recv_frame(late, 5)
            assert (late.close_code, late.close_reason) == (RESTART, REASON)
    assert await asyncio.to_thread(server.process.wait, 10) == 0


def test_sigterm_stops_accepting_while_sockets_still_close(start_daphne, alice):
    """A client that never answers the close frame holds the drain up a moment;
    meanwhile new connections are refused (the load balancer moves on)."""
    server = start_daphne()
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        "GET /ws/chat/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {alice.token}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as mute:
        mute.sendall(handshake.encode())
        assert mute.recv(4096).startswith(b"HTTP/1.1 101")
        time.sleep(0.5)  # the hello arrives; this client reads nothing more
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not refused(server.port):
            assert time.monotonic() < deadline, "still accepting after SIGTERM"
            time.sleep(0.02)
        assert server.process.poll() is None, "exited before the socket closed"
        assert server.process.wait(timeout=10) == 0

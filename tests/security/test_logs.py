"""What a real daphne writes to its logs never holds a secret or a message."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from tests.conftest import PASSWORD
from tests.live import close_code, http_json, log_in, open_chat, recv_frame

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET_BODY = "the-launch-code-is-0451"


@pytest.fixture
def paula(make_person):
    return make_person("paula", with_password=True)


async def _session_of_requests(server, alice, paula, lobby) -> list[str]:
    """Everything a day brings; returns the secrets that went over the wire."""
    secrets = [alice.token, paula.token]
    base = server.ws_url
    # The article's URL, a token in the query string.
    async with connect(
        f"{base}/chat?id={alice.id}&token={alice.token}", proxy=None
    ) as ws:
        await recv_frame(ws)
        await ws.send(
            json.dumps(
                {
                    "type": "message.send",
                    "room": lobby,
                    "body": SECRET_BODY,
                    "client_id": "l1",
                }
            )
        )
        await recv_frame(ws)
        await ws.send("x" * 20_000)  # too_long: its text is not logged either
        await recv_frame(ws)
    # A ticket.
    _, _, body = await asyncio.to_thread(
        http_json, "POST", f"{server.http_url}/api/auth/ticket/", token=alice.token
    )
    secrets.append(body["ticket"])
    async with connect(f"{base}/ws/chat/?ticket={body['ticket']}", proxy=None) as ws:
        await recv_frame(ws)
    # Wrong and revoked tokens, in the URL and in the header.
    wrong = alice.token[:-4] + "AAAA"
    secrets.append(wrong)
    async with connect(f"{base}/ws/chat/?token={wrong}", proxy=None) as ws:
        await close_code(ws)
    status, _, _ = await asyncio.to_thread(
        http_json, "GET", f"{server.http_url}/api/rooms/", token=wrong
    )
    assert status == 401
    # A client that wrongly puts its token in an API URL: refused, and daphne's
    # access log (which prints query strings) shows it redacted.
    status, _, _ = await asyncio.to_thread(
        http_json, "GET", f"{server.http_url}/api/messages/?after=0&token={alice.token}"
    )
    assert status == 401
    # The HTTP API, by header; a message posted over HTTP.
    await asyncio.to_thread(
        http_json,
        "POST",
        f"{server.http_url}/api/rooms/{lobby}/messages/",
        token=alice.token,
        body={"body": SECRET_BODY + "-http", "client_id": "h1"},
    )
    async with open_chat(server, alice.token) as chat:
        await chat.send(type="sync", after=0)
        await chat.recv_until("sync.done")
    # A browser: log in, the session cookie on a WebSocket.
    cookie = await asyncio.to_thread(log_in, server, "paula", PASSWORD)
    secrets += [part.split("=", 1)[1] for part in cookie.split("; ")]
    async with connect(
        f"{base}/ws/chat/",
        additional_headers={"Cookie": cookie},
        origin=server.http_url,
        proxy=None,
    ) as ws:
        await recv_frame(ws)
    # A token request: the password, and the new token in the answer.
    _, _, body = await asyncio.to_thread(
        http_json,
        "POST",
        f"{server.http_url}/api/auth/token/",
        body={"username": "paula", "password": PASSWORD},
    )
    secrets += [body["token"], PASSWORD]
    return secrets


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_logs_hold_no_token_session_or_message_body(
    start_daphne, alice, paula, lobby, level
):
    """Tokens (URL or header), tickets, session ids, passwords, bodies: not logged."""
    server = start_daphne(LOG_LEVEL=level)
    secrets = await _session_of_requests(server, alice, paula, lobby)
    server.stop()
    log = server.log_path.read_text(errors="replace")
    assert "WSCONNECT" in log  # daphne's access log was on
    assert "/api/messages/?after=0&token=[redacted]" in log
    for secret in secrets:
        assert secret not in log
    assert SECRET_BODY not in log
    assert "x" * 100 not in log
